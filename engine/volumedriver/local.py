"""The local volume driver, Docker's `local`: each volume is a directory under the
driver's root, `<root>/<name>/_data` (what containers mount) beside `volume.json`
(creation time, labels, options).

Options (`docker volume create -o`), as Docker's local driver takes them: `type`,
`device` and `o` mount a filesystem on `_data` while a container uses the volume
(`type=tmpfs device=tmpfs o=size=16m`; `type=none o=bind device=/srv/x`; any type in
/proc/filesystems). A new volume's options are tried at create (a mount and an
unmount), so a bad size or a missing device is refused then, not at a later start.

A volume is made in `<root>/.new-<random>/` and renamed into place: a crash leaves
at most a `.new-` directory, which `sweep` removes; two creations of one name at
once end with one volume and a VolumeExists for the other. Which containers hold
or mount a volume is kept in memory (the daemon tells the driver again at start-up).
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import secrets
import shutil
import threading

from ..libcontainer import syscalls as S
from ..libcontainer.mounts import parse_options
from .driver import (Volume, VolumeBadRequest, VolumeDriver, VolumeError, VolumeExists, VolumeInUse,
                     VolumeNotFound)

# Docker's rule for local volume names.
VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
OPTION_KEYS = ("type", "device", "o")
DATA, META, NEW_PREFIX = "_data", "volume.json", ".new-"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")   # dockerd's form


# A volume is a directory named after it (made as NEW_PREFIX + name first): a file name's
# 255 bytes bound the name.
MAX_NAME = 255 - len(NEW_PREFIX)


def check_name(name: str) -> None:
    if not VALID_NAME.fullmatch(name or ""):
        raise VolumeBadRequest(
            f"{name!r} includes invalid characters for a local volume name, only "
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
            "use absolute path")
    if len(name) > MAX_NAME:
        raise VolumeBadRequest(f"volume name {name[:20]}... is {len(name)} characters long: "
                               f"a local volume's name has at most {MAX_NAME}")


def _mount_args(options: dict[str, str]) -> tuple[str, str, int, str]:
    """(device, type, flags, data) of a typed volume's options."""
    if "remount" in (options.get("o") or "").split(","):
        raise VolumeBadRequest('invalid option "o": remount is not for a volume')
    flags, data = parse_options(options.get("o") or "")
    return options["device"], options["type"], flags, data


def _known_filesystems() -> set[str]:
    with open("/proc/filesystems") as f:
        return {line.split()[-1] for line in f if line.strip()}


class LocalDriver(VolumeDriver):
    name = "local"

    def __init__(self, root: str) -> None:
        super().__init__(root)
        os.makedirs(root, 0o701, exist_ok=True)
        self._holders: dict[str, set[str]] = {}   # volume name -> container ids
        self._mounters: dict[str, set[str]] = {}  # volume name -> ids that have it mounted now
        self._lock = threading.Lock()             # jobs call in from several worker threads

    # --- the store ----------------------------------------------------------------------
    def _dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _load(self, name: str) -> Volume:
        with open(os.path.join(self._dir(name), META)) as f:
            meta = json.load(f)
        return Volume(name=name, driver=self.name, mountpoint=os.path.join(self._dir(name), DATA),
                      created_at=meta.get("CreatedAt", ""), labels=dict(meta.get("Labels") or {}),
                      options=dict(meta.get("Options") or {}))

    def check_options(self, options: dict[str, str]) -> None:
        for key in options:
            if key not in OPTION_KEYS:
                raise VolumeBadRequest(f'invalid option key: "{key}"')
        if not options:
            return
        for key in ("type", "device"):
            if not options.get(key):
                raise VolumeBadRequest(f'missing required option: "{key}"')
        device, fstype, flags, _ = _mount_args(options)
        if flags & S.MS_BIND:
            if not os.path.isabs(device):
                raise VolumeBadRequest(f"invalid bind device {device!r}: it must be an absolute host path")
            if not os.path.exists(device):
                raise VolumeBadRequest(f"bind device {device} does not exist")
        elif fstype not in _known_filesystems():
            raise VolumeBadRequest(f"unknown filesystem type {fstype!r} (not in /proc/filesystems)")

    def create(self, name: str, options: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> Volume:
        check_name(name)
        options, labels = dict(options or {}), dict(labels or {})
        self.check_options(options)
        if os.path.exists(os.path.join(self._dir(name), META)):
            raise VolumeExists(f"volume {name} already exists")
        staging = os.path.join(self.root, NEW_PREFIX + secrets.token_hex(8))
        os.mkdir(staging, 0o701)
        try:
            os.mkdir(os.path.join(staging, DATA), 0o755)
            if options:
                self._try_mount(os.path.join(staging, DATA), options)
            with open(os.path.join(staging, META), "w") as f:
                json.dump({"CreatedAt": _now(), "Labels": labels, "Options": options}, f)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.rename(staging, self._dir(name))   # the commit point
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                    raise VolumeExists(f"volume {name} already exists") from None
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._load(name)

    def _try_mount(self, target: str, options: dict[str, str]) -> None:
        """The kernel's verdict on the options, before the volume exists."""
        try:
            self._mount_fs(target, options)
        except OSError as exc:
            raise VolumeBadRequest(f"invalid volume options {_shown(options)}: {exc.strerror or exc}") from None
        S.umount2(target)

    @staticmethod
    def _mount_fs(target: str, options: dict[str, str]) -> None:
        device, fstype, flags, data = _mount_args(options)
        if flags & S.MS_BIND:
            S.mount(device, target, None, flags & (S.MS_BIND | S.MS_REC))
            if flags & ~(S.MS_BIND | S.MS_REC):
                S.mount(None, target, None, S.MS_REMOUNT | S.MS_BIND | (flags & ~S.MS_REC))
        else:
            S.mount(device, target, fstype, flags, data or None)

    def get(self, name: str) -> Volume:
        if not VALID_NAME.fullmatch(name or "") or len(name) > MAX_NAME:
            raise VolumeNotFound(f"get {name}: no such volume")
        try:
            return self._load(name)
        except (FileNotFoundError, NotADirectoryError):
            raise VolumeNotFound(f"get {name}: no such volume") from None

    def list(self) -> list[Volume]:
        out = []
        for name in sorted(os.listdir(self.root)):
            if VALID_NAME.fullmatch(name):
                try:
                    out.append(self._load(name))
                except (FileNotFoundError, NotADirectoryError, ValueError):
                    continue
        return out

    def remove(self, name: str) -> None:
        volume = self.get(name)
        with self._lock:
            holders = self._holders.get(name)
            if holders:
                raise VolumeInUse(f"remove {name}: volume is in use - "
                                  f"[{', '.join(sorted(holders))}]")
            # Out of sight first (one rename), then deleted: a crash midway leaves a
            # `.new-` directory for the sweep, never half a volume under its name.
            doomed = os.path.join(self.root, NEW_PREFIX + secrets.token_hex(8))
            os.rename(self._dir(name), doomed)
        self._unmount_if_mounted(os.path.join(doomed, DATA))
        shutil.rmtree(doomed)
        del volume

    # --- holders and mounts ---------------------------------------------------------------
    def _check_there(self, volume: Volume) -> None:
        """Under the lock: remove takes a volume out of sight under it too, so a hold either
        comes first (and remove refuses) or finds the volume gone."""
        if not os.path.exists(os.path.join(self._dir(volume.name), META)):
            raise VolumeNotFound(f"get {volume.name}: no such volume")

    def hold(self, volume: Volume, container_id: str) -> None:
        with self._lock:
            self._check_there(volume)
            self._holders.setdefault(volume.name, set()).add(container_id)

    def release(self, volume: Volume, container_id: str) -> None:
        with self._lock:
            _discard(self._holders, volume.name, container_id)

    def users(self, volume: Volume) -> set[str]:
        with self._lock:
            return set(self._holders.get(volume.name, ()))

    def mount(self, volume: Volume, container_id: str) -> str:
        with self._lock:
            self._check_there(volume)
            self._holders.setdefault(volume.name, set()).add(container_id)
            mounters = self._mounters.setdefault(volume.name, set())
            if volume.options and not mounters and not _is_mountpoint(volume.mountpoint):
                try:
                    self._mount_fs(volume.mountpoint, volume.options)
                except OSError as exc:
                    del self._mounters[volume.name]
                    raise VolumeError(f"mounting volume {volume.name}: {exc.strerror or exc}") from None
            mounters.add(container_id)
        return volume.mountpoint

    def unmount(self, volume: Volume, container_id: str) -> None:
        with self._lock:
            if _discard(self._mounters, volume.name, container_id) and volume.options:
                self._unmount_if_mounted(volume.mountpoint)

    def sweep(self) -> None:
        for name in os.listdir(self.root):
            path = self._dir(name)
            if name.startswith(NEW_PREFIX):
                self._unmount_if_mounted(os.path.join(path, DATA))
                shutil.rmtree(path, ignore_errors=True)
            elif VALID_NAME.fullmatch(name) and name not in self._mounters:
                self._unmount_if_mounted(os.path.join(path, DATA))

    @staticmethod
    def _unmount_if_mounted(path: str) -> None:
        while _is_mountpoint(path):
            try:
                S.umount2(path)
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise
                S.umount2(path, 2)   # MNT_DETACH: a user's shell sits in it; it goes when they leave


def _discard(table: dict[str, set[str]], name: str, container_id: str) -> bool:
    """Drop one id; True when that was the last one."""
    ids = table.get(name)
    if ids is None or container_id not in ids:
        return False
    ids.discard(container_id)
    if not ids:
        del table[name]
        return True
    return False


def _is_mountpoint(path: str) -> bool:
    """From mountinfo, not st_dev: a bind of a directory on the same filesystem counts."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == real for line in f)


def _shown(options: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(options.items()))


__all__ = ["LocalDriver", "VALID_NAME", "check_name"]
