"""Volume drivers: the interface (driver.py) and its implementations, chosen by name."""

from __future__ import annotations

from .driver import (Volume, VolumeBadRequest, VolumeDriver, VolumeError, VolumeExists, VolumeInUse,
                     VolumeNotFound)
from .local import LocalDriver

# Every implementation, by name; each is made with the directory it keeps volumes in.
DRIVERS: dict[str, type[VolumeDriver]] = {"local": LocalDriver}


def new_volumedriver(name: str, root: str) -> VolumeDriver:
    cls = DRIVERS.get(name)
    if cls is None:
        raise VolumeError(f"unknown volume driver {name!r} (available: {', '.join(DRIVERS)})")
    return cls(root)


__all__ = ["DRIVERS", "LocalDriver", "Volume", "VolumeBadRequest", "VolumeDriver", "VolumeError",
           "VolumeExists", "VolumeInUse", "VolumeNotFound", "new_volumedriver"]
