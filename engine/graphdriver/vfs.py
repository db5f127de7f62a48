"""vfs: every layer is a full copy of its parent; no mounts, works on any filesystem.

Slow to create and heavy on disk, but the reference: the conformance suite holds the
overlay driver to what this one does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import BinaryIO, Iterator

from ..archive import (Whiteouts, changes_dirs, changes_size, pack_changes, pack_dir,
                       unpack)
from . import _sys
from .driver import Change, DriverError, GraphDriver, LayerExists, LayerNotFound


class VfsDriver(GraphDriver):
    name = "vfs"

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self._dirs = os.path.join(home, "dir")
        os.makedirs(self._dirs, mode=0o700, exist_ok=True)
        self._lock = threading.Lock()
        self._refs: dict[str, int] = {}  # only for symmetry with mounting drivers

    def _dir(self, layer_id: str) -> str:
        if not layer_id or "/" in layer_id or layer_id in (".", ".."):
            raise DriverError(f"invalid layer id {layer_id!r}")
        return os.path.join(self._dirs, layer_id)

    def _existing(self, layer_id: str) -> str:
        path = self._dir(layer_id)
        if not os.path.isdir(path):
            raise LayerNotFound(f"layer {layer_id} not found")
        return path

    def exists(self, layer_id: str) -> bool:
        return os.path.isdir(self._dir(layer_id))

    def create(self, layer_id: str, parent: str | None) -> None:
        path = self._dir(layer_id)
        if os.path.lexists(path):
            raise LayerExists(f"layer {layer_id} already exists")
        if parent is None:
            os.mkdir(path, 0o755)
            return
        parent_dir = self._existing(parent)
        # Copy next to the target, then rename: a failed copy never leaves a half layer.
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        # GNU cp -a keeps hardlinks, xattrs, devices, owners and times, and uses reflinks or
        # copy_file_range where the filesystem can: far faster than a Python walk.
        proc = subprocess.run(["cp", "-a", "--reflink=auto", "--", parent_dir, tmp],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DriverError(f"copying layer {parent} for {layer_id}: {proc.stderr.strip()}")
        os.rename(tmp, path)

    def layer_ids(self) -> list[str]:
        return [name for name in os.listdir(self._dirs) if not name.endswith(".tmp")]

    def leftover(self, layer_id: str) -> bool:
        return os.path.lexists(self._dir(layer_id))

    def discard(self, layer_id: str) -> None:
        path = self._dir(layer_id)
        with self._lock:
            self._refs.pop(layer_id, None)
        for victim in (path, path + ".tmp"):
            if os.path.lexists(victim):
                try:
                    shutil.rmtree(victim)
                except OSError as e:
                    raise DriverError(f"removing layer {layer_id}: {e}") from e

    def sweep(self, known: set[str]) -> list[str]:
        removed = []
        for name in os.listdir(self._dirs):
            if name.endswith(".tmp"):   # a parent copy that a dead daemon did not finish
                shutil.rmtree(os.path.join(self._dirs, name), ignore_errors=True)
                removed.append(name)
        return removed

    def remove(self, layer_id: str) -> None:
        path = self._existing(layer_id)
        with self._lock:
            self._refs.pop(layer_id, None)
        try:
            shutil.rmtree(path)
        except OSError as e:
            raise DriverError(f"removing layer {layer_id}: {e}") from e

    def get(self, layer_id: str) -> str:
        path = self._existing(layer_id)
        with self._lock:
            self._refs[layer_id] = self._refs.get(layer_id, 0) + 1
        return path

    def put(self, layer_id: str) -> None:
        with self._lock:
            count = self._refs.get(layer_id, 0)
            if count <= 1:
                self._refs.pop(layer_id, None)
            else:
                self._refs[layer_id] = count - 1

    def status(self) -> list[tuple[str, str]]:
        return [("Backing Filesystem", _sys.fs_name(self.home)),
                ("Layers", str(len(os.listdir(self._dirs))))]

    def cleanup(self) -> None:
        with self._lock:
            self._refs.clear()

    # -- diffs -----------------------------------------------------------------------------

    def _parent_dir(self, parent: str | None) -> str | None:
        return None if parent is None else self._existing(parent)

    def changes(self, layer_id: str, parent: str | None) -> list[Change]:
        return changes_dirs(self._existing(layer_id), self._parent_dir(parent))

    def diff(self, layer_id: str, parent: str | None) -> Iterator[bytes]:
        path = self._existing(layer_id)
        if parent is None:
            return pack_dir(path)
        return pack_changes(path, changes_dirs(path, self._existing(parent)))

    def apply_diff(self, layer_id: str, parent: str | None, stream: BinaryIO) -> int:
        # The layer dir already holds a full copy of the parent: whiteouts really delete.
        # ArchiveError (bad or hostile tar) propagates as is: it is the client's input at fault.
        return unpack(stream, self._existing(layer_id), whiteouts=Whiteouts.DELETE)

    def diff_size(self, layer_id: str, parent: str | None) -> int:
        path = self._existing(layer_id)
        return changes_size(path, changes_dirs(path, self._parent_dir(parent)))
