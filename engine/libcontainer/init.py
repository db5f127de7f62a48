"""Entry point of the helper processes: `python -I -S .../init.py <spec>` starts a
container, `... init.py exec <spec>` runs a process in a running one, `... init.py
keeper <exec root> <this file>` is the keeper that outlives pyctrd (keeper.py), and `... init.py
inroot <fd>` is the confined-filesystem helper (inroot.py).

-I drops the script directory from sys.path and -S drops site-packages, so this
file bootstraps the import of its own package from where it lives; the modules
it reaches are stdlib-only. Import cost is start latency here.
"""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if len(sys.argv) > 1 and sys.argv[1] == "exec":
        from libcontainer.exec_helper import main
    elif len(sys.argv) > 1 and sys.argv[1] == "keeper":
        from libcontainer.keeper import main
    elif len(sys.argv) > 1 and sys.argv[1] == "inroot":
        from libcontainer.inroot import main
    else:
        from libcontainer.helper import main

    main(sys.argv)
