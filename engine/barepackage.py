"""A library package imported without running its `__init__`, for the daemon's memory.

pyroute2's and aiohttp's `__init__` import and re-export their whole API: for pyroute2
NDB, IPDB, nl80211, wireguard, plan9 and more (some 70 modules, 5 MiB of an idle
pyctrd), for aiohttp the whole HTTP client (connector, cookie jar, two default TLS
contexts with the system's CA store: 4 MiB) that the daemon needs only for a pull.
`register` puts the package in `sys.modules` with its `__path__` but without running
`__init__`, so importing a submodule (`aiohttp.web`, `pyroute2.iproute.linux`) loads
only what that submodule needs. The first lookup of a name only `__init__` defines
(`aiohttp.ClientSession`) runs the real `__init__` then, so every other use of the
package keeps working, only later; `loaded` runs it in a thread ahead of such a use."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
import threading
from typing import Callable

# name -> runs the package's real __init__ (once), for the bare packages not run yet
_pending: dict[str, Callable[[], None]] = {}


def register(name: str, *, version_from_source: bool = False) -> None:
    """`name` as a bare package (nothing if it is imported already). `version_from_source`:
    set `__version__` from its `__init__`'s `__version__ = "..."` line, for submodules that
    import it from the package (aiohttp.http does); without that line, the package is
    imported as usual."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.origin is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)
    if version_from_source:
        with open(spec.origin, encoding="utf-8") as f:
            found = re.search(r'^__version__ = "([^"]+)"', f.read(4096), re.MULTILINE)
        if found is None:
            importlib.import_module(name)
            return
        package.__version__ = found.group(1)   # type: ignore[attr-defined]
    lock = threading.Lock()

    def run_init() -> None:
        with lock:
            if _pending.pop(name, None) is None:
                return
            del package.__getattr__
            spec.loader.exec_module(package)   # type: ignore[union-attr]

    def complete(attribute: str) -> object:
        """A name only the real `__init__` defines: run it, then look again."""
        # `from package import submodule` asks here first, before importing the submodule
        dunder = attribute.startswith("__") and attribute not in ("__version__", "__all__")
        if name not in _pending or dunder or importlib.util.find_spec(f"{name}.{attribute}"):
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        run_init()
        return getattr(package, attribute)

    package.__getattr__ = complete   # type: ignore[attr-defined]
    _pending[name] = run_init
    sys.modules[name] = package


async def loaded(name: str) -> None:
    """The whole package, its `__init__` run in a thread if it has not run yet: a coroutine
    calls this before its first use of the package, which would otherwise import it on the
    event loop (aiohttp's client: 0.2 to 0.5 s on a busy host)."""
    run_init = _pending.get(name)
    if run_init is not None:
        await asyncio.to_thread(run_init)
