"""Graph drivers: where layers live. `new_driver` picks one by name or by what the host supports."""

from __future__ import annotations

from .driver import Change, DriverError, GraphDriver, LayerExists, LayerNotFound
from .overlay import OverlayDriver
from .vfs import VfsDriver

# Preference order when no name is given: the first supported wins.
DRIVERS: dict[str, type[GraphDriver]] = {"overlay": OverlayDriver, "vfs": VfsDriver}


def new_driver(name: str | None, home: str) -> GraphDriver:
    """The driver called `name` (None: overlay where the kernel and `home`'s filesystem
    support it, else vfs), keeping its layers under `home`."""
    if name is None:
        for candidate, cls in DRIVERS.items():
            if _supported(cls, home):
                return cls(home)
        raise DriverError("no graph driver is supported on this host")
    cls = DRIVERS.get(name)
    if cls is None:
        raise DriverError(f"unknown graph driver {name!r} (known: {', '.join(DRIVERS)})")
    if not _supported(cls, home):
        raise DriverError(f"graph driver {name!r} is not supported here (kernel or filesystem of {home})")
    return cls(home)


def _supported(cls: type[GraphDriver], home: str) -> bool:
    if cls is OverlayDriver:
        return OverlayDriver.supported(home)
    return cls.supported()


__all__ = ["DRIVERS", "Change", "DriverError", "GraphDriver", "LayerExists", "LayerNotFound",
           "OverlayDriver", "VfsDriver", "new_driver"]
