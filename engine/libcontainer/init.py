"""Entry point of the container helper process: `python -I -S .../init.py <spec>`.

-I drops the script directory from sys.path and -S drops site-packages, so this
file bootstraps the import of its own package from where it lives; the modules
it reaches are stdlib-only. Import cost is start latency here.
"""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from libcontainer.helper import main

    main(sys.argv)
