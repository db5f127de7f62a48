"""The local volume driver: volumes are directories under the daemon's data root
(<data_root>/volumes/<name>), and host binds are the host's own directories.

Which containers hold a volume is kept in memory: the daemon tells the driver
again at start-up from its containers' records (daemon/volumes.py `restore`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading

from .driver import Volume, VolumeDriver, VolumeError, VolumeExists, VolumeInUse, VolumeNotFound

# Docker's rule for volume names (named volumes, a later API); anonymous ids match it.
VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


class LocalDriver(VolumeDriver):
    name = "local"

    def __init__(self, root: str) -> None:
        super().__init__(root)
        os.makedirs(root, exist_ok=True)
        self._users: dict[str, set[str]] = {}   # volume path -> container ids
        self._lock = threading.Lock()            # jobs call in from several worker threads

    def _volume(self, name: str) -> Volume:
        return Volume(name=name, path=os.path.join(self.root, name), driver=self.name)

    def create(self, name: str | None = None, seed_from: str | None = None) -> Volume:
        if name is None:
            name = secrets.token_hex(32)
        if not VALID_NAME.fullmatch(name):
            raise VolumeError(f"invalid volume name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        volume = self._volume(name)
        try:
            os.mkdir(volume.path)
        except FileExistsError:
            raise VolumeExists(f"volume {name} already exists") from None
        if seed_from is not None:
            try:
                shutil.copytree(seed_from, volume.path, symlinks=True, dirs_exist_ok=True)
                shutil.copystat(seed_from, volume.path)
            except BaseException:
                shutil.rmtree(volume.path, ignore_errors=True)
                raise
        return volume

    def get(self, name: str) -> Volume:
        if not VALID_NAME.fullmatch(name) or not os.path.isdir(os.path.join(self.root, name)):
            raise VolumeNotFound(f"no such volume: {name}")
        return self._volume(name)

    def list(self) -> list[Volume]:
        return [self._volume(n) for n in sorted(os.listdir(self.root))
                if VALID_NAME.fullmatch(n) and os.path.isdir(os.path.join(self.root, n))]

    def remove(self, name: str) -> None:
        volume = self.get(name)
        with self._lock:
            holders = self._users.get(volume.path)
            if holders:
                raise VolumeInUse(f"volume {name} is in use by {', '.join(sorted(h[:12] for h in holders))}")
            shutil.rmtree(volume.path)

    def bind(self, host_path: str) -> Volume:
        os.makedirs(host_path, exist_ok=True)
        return self.at(host_path)

    def at(self, path: str) -> Volume:
        if os.path.dirname(os.path.normpath(path)) == os.path.normpath(self.root):
            return self._volume(os.path.basename(os.path.normpath(path)))
        return Volume(name=path, path=path, driver=self.name, host_bind=True)

    def mount(self, volume: Volume, container_id: str) -> str:
        with self._lock:
            self._users.setdefault(volume.path, set()).add(container_id)
        return volume.path

    def unmount(self, volume: Volume, container_id: str) -> None:
        with self._lock:
            holders = self._users.get(volume.path)
            if holders is not None:
                holders.discard(container_id)
                if not holders:
                    del self._users[volume.path]

    def users(self, volume: Volume) -> set[str]:
        with self._lock:
            return set(self._users.get(volume.path, ()))
