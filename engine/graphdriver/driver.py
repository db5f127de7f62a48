"""The graph driver interface: how image layers and container filesystems are stored.

As in Docker 1.2, a driver keeps one directory per layer id. A layer may have a
parent; `get` gives a path where the layer's full filesystem (its parents'
content plus its own) can be read and written. Every method here is blocking:
the daemon calls them from worker threads, never on the event loop.
"""

from __future__ import annotations

import abc
from typing import BinaryIO, Iterator

from ..archive.changes import Change  # what `changes` returns: computed by archive/


class DriverError(Exception):
    """A driver operation failed; the message names the layer."""


class LayerNotFound(DriverError):
    pass


class LayerExists(DriverError):
    pass


class GraphDriver(abc.ABC):
    name: str = ""

    def __init__(self, home: str) -> None:
        self.home = home

    @classmethod
    def supported(cls, home: str | None = None) -> bool:
        """Whether this kernel, and the filesystem under `home`, can run the driver."""
        return True

    @abc.abstractmethod
    def create(self, layer_id: str, parent: str | None) -> None:
        """Make an empty layer on top of `parent`. LayerExists if it is there already."""

    @abc.abstractmethod
    def remove(self, layer_id: str) -> None:
        """Delete the layer (unmounting it first). LayerNotFound if it is not there."""

    @abc.abstractmethod
    def get(self, layer_id: str) -> str:
        """Mount (reference-counted) and return the path of the layer's full filesystem."""

    @abc.abstractmethod
    def put(self, layer_id: str) -> None:
        """Release one `get`; the last release unmounts."""

    @abc.abstractmethod
    def exists(self, layer_id: str) -> bool: ...

    @abc.abstractmethod
    def status(self) -> list[tuple[str, str]]:
        """Key/value lines for `info` (backing filesystem, layer count, ...)."""

    @abc.abstractmethod
    def cleanup(self) -> None:
        """Unmount everything this driver mounted (daemon shutdown)."""

    @abc.abstractmethod
    def changes(self, layer_id: str, parent: str | None) -> list[Change]:
        """What the layer changed relative to its parent, sorted by path."""

    @abc.abstractmethod
    def diff(self, layer_id: str, parent: str | None) -> Iterator[bytes]:
        """The layer's own changes as an uncompressed tar stream, whiteouts as `.wh.NAME`."""

    @abc.abstractmethod
    def apply_diff(self, layer_id: str, parent: str | None, stream: BinaryIO) -> int:
        """Unpack a layer tar (with `.wh.` whiteouts) into the layer; return its size in bytes.

        The tar may be hostile: nothing may be written outside the layer. A bad tar
        raises archive.ArchiveError naming the entry; on any error the layer's content
        is undefined and the caller removes the layer."""

    @abc.abstractmethod
    def diff_size(self, layer_id: str, parent: str | None) -> int:
        """Bytes the layer adds (the size of its own changes)."""
