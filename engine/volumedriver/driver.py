"""The volume driver interface: where named volumes keep their data.

A volume is a named place for data that containers mount: a directory the driver
keeps, or a filesystem it mounts there when a container needs it (the local
driver's `type`/`device`/`o` options). A driver creates, finds, lists and removes
its volumes, and keeps two counts per volume, both by container id:
- `hold`/`release`: which containers refer to it (created or running); a held
  volume cannot be removed (`users`).
- `mount`/`unmount`: which containers have it mounted now; the first mount makes
  the data reachable at the volume's mountpoint (mounts the filesystem of a typed
  volume), the last unmount undoes that.
Counts live in memory: at start-up the daemon tells the driver again from its
containers' records, then `sweep` undoes what no container needs (a mount left by
a crash, a creation cut short). What a container mounts where is the daemon's
business (daemon/mountpoints.py); a driver knows nothing of records, HTTP or jobs.
Every method blocks (disk, mount(2)): the daemon calls them from worker threads.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


class VolumeError(Exception):
    """A volume operation failed; the message names the volume."""


class VolumeNotFound(VolumeError):
    pass


class VolumeExists(VolumeError):
    pass


class VolumeInUse(VolumeError):
    pass


class VolumeBadRequest(VolumeError):
    """The request itself is wrong (a name, an option): a 400, nothing made."""


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    mountpoint: str                     # the host directory containers mount
    created_at: str = ""                # RFC 3339
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    options: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


class VolumeDriver(abc.ABC):
    name: str = ""

    def __init__(self, root: str) -> None:
        self.root = root   # where the driver keeps its volumes

    @abc.abstractmethod
    def create(self, name: str, options: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> Volume:
        """A new, empty volume, all or nothing. VolumeExists if `name` is taken;
        VolumeBadRequest for a name that is no name or an option the driver refuses
        (checked before anything is made)."""

    @abc.abstractmethod
    def get(self, name: str) -> Volume:
        """VolumeNotFound if the driver has no such volume."""

    @abc.abstractmethod
    def list(self) -> list[Volume]:
        """The driver's volumes, sorted by name."""

    @abc.abstractmethod
    def remove(self, name: str) -> None:
        """Delete the volume and its data. VolumeInUse while a container holds it,
        VolumeNotFound if it is not there."""

    @abc.abstractmethod
    def hold(self, volume: Volume, container_id: str) -> None:
        """Count `container_id` as referring to the volume (twice counts once);
        VolumeNotFound if it was removed meanwhile (never a hold on a removed volume)."""

    @abc.abstractmethod
    def release(self, volume: Volume, container_id: str) -> None:
        """`container_id` refers to the volume no more; a no-op if it did not."""

    @abc.abstractmethod
    def users(self, volume: Volume) -> set[str]:
        """The containers that hold the volume."""

    @abc.abstractmethod
    def mount(self, volume: Volume, container_id: str) -> str:
        """Make the data reachable for `container_id` (and hold it); the host path
        to bind into the container. Mounting twice counts once."""

    @abc.abstractmethod
    def unmount(self, volume: Volume, container_id: str) -> None:
        """`container_id` has the volume mounted no more (it still holds it)."""

    @abc.abstractmethod
    def sweep(self) -> None:
        """At start-up, after the holders were told again: undo what a crash left
        (half-made volumes, filesystems mounted for no container)."""
