"""The volume driver interface: where a container's volumes keep their data.

A volume is a directory on the host that containers mount. A driver creates,
finds, lists and removes its volumes, and counts which containers hold each one
(`mount`/`unmount`): a volume that some container holds cannot be removed. What
a container mounts where is the daemon's business (daemon/volumes.py); a driver
never knows about containers' records, HTTP or jobs. Every method blocks (disk):
the daemon calls them from worker threads.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


class VolumeError(Exception):
    """A volume operation failed; the message names the volume."""


class VolumeNotFound(VolumeError):
    pass


class VolumeExists(VolumeError):
    pass


class VolumeInUse(VolumeError):
    pass


@dataclass(frozen=True)
class Volume:
    name: str          # 64 hex for an anonymous volume; a host bind is named by its path
    path: str          # the host directory a container mounts
    driver: str
    host_bind: bool = False   # the host's own directory: the driver never deletes it


class VolumeDriver(abc.ABC):
    name: str = ""

    def __init__(self, root: str) -> None:
        self.root = root   # where the driver keeps the volumes it creates

    @abc.abstractmethod
    def create(self, name: str | None = None, seed_from: str | None = None) -> Volume:
        """A new, empty volume (`name` None: an anonymous one, named by a fresh id),
        starting with a copy of directory `seed_from` when given (an image's VOLUME).
        VolumeExists if `name` is taken; VolumeError for a name that is no name."""

    @abc.abstractmethod
    def get(self, name: str) -> Volume:
        """VolumeNotFound if the driver has no such volume."""

    @abc.abstractmethod
    def list(self) -> list[Volume]:
        """The driver's own volumes (not host binds), sorted by name."""

    @abc.abstractmethod
    def remove(self, name: str) -> None:
        """Delete the volume and its data. VolumeInUse while a container holds it,
        VolumeNotFound if it is not there."""

    @abc.abstractmethod
    def bind(self, host_path: str) -> Volume:
        """A host directory as a volume (made if missing, as Docker 1.2 did)."""

    @abc.abstractmethod
    def at(self, path: str) -> Volume:
        """The volume whose data is at host `path`: one of the driver's own, or a host bind."""

    @abc.abstractmethod
    def mount(self, volume: Volume, container_id: str) -> str:
        """Count `container_id` as holding the volume; return the path to mount.
        Holding twice counts once."""

    @abc.abstractmethod
    def unmount(self, volume: Volume, container_id: str) -> None:
        """`container_id` no longer holds the volume; a no-op if it did not."""

    @abc.abstractmethod
    def users(self, volume: Volume) -> set[str]:
        """The containers that hold the volume."""
