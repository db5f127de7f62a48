"""Bind mounts from the host into the container (volumes, /etc/hosts, ...).

Destinations are resolved inside the rootfs the way the container will see
them (absolute symlinks are relative to the container's root), and a
destination whose symlinks lead out of the rootfs is refused: a container
image must not be able to make the daemon mount over a host path.

Stdlib-only (runs in the container init).
"""

from __future__ import annotations

import os

from . import syscalls
from .paths import PathEscape, resolve_in_root
from .spec import BindMount



class MountError(Exception):
    pass


MS_SYNCHRONOUS, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME = 0x10, 0x80, 0x400, 0x800
# mount(8) words that are flags: (set, cleared). Every other word is the filesystem's data.
MOUNT_FLAGS = {
    "ro": (syscalls.MS_RDONLY, 0), "rw": (0, syscalls.MS_RDONLY),
    "nosuid": (syscalls.MS_NOSUID, 0), "suid": (0, syscalls.MS_NOSUID),
    "nodev": (syscalls.MS_NODEV, 0), "dev": (0, syscalls.MS_NODEV),
    "noexec": (syscalls.MS_NOEXEC, 0), "exec": (0, syscalls.MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0), "async": (0, MS_SYNCHRONOUS), "dirsync": (MS_DIRSYNC, 0),
    "noatime": (MS_NOATIME, 0), "atime": (0, MS_NOATIME),
    "nodiratime": (MS_NODIRATIME, 0), "diratime": (0, MS_NODIRATIME),
    "relatime": (syscalls.MS_RELATIME, 0), "norelatime": (0, syscalls.MS_RELATIME),
    "strictatime": (syscalls.MS_STRICTATIME, 0),
    "bind": (syscalls.MS_BIND, 0), "rbind": (syscalls.MS_BIND | syscalls.MS_REC, 0),
    "defaults": (0, 0),
}


def parse_options(text: str, flags: int = 0) -> tuple[int, str]:
    """`noexec,size=16m,mode=1777` -> (flags, "size=16m,mode=1777"), from `flags` on."""
    data = []
    for word in (text or "").split(","):
        if not word:
            continue
        if word in MOUNT_FLAGS:
            on, off = MOUNT_FLAGS[word]
            flags = (flags | on) & ~off
        else:
            data.append(word)
    return flags, ",".join(data)


def resolve_in_rootfs(rootfs: str, path: str) -> str:
    """The host path of container path `path`, following symlinks inside `rootfs`."""
    try:
        return resolve_in_root(rootfs, path, clamp_above_root=False, reroot_absolute=True)
    except PathEscape as e:
        if e.kind == "loop":
            raise MountError(f"mount destination {path}: too many symlinks") from None
        raise MountError(f"mount destination {path} resolves outside the container rootfs") from None


PROPAGATION = {"private": syscalls.MS_PRIVATE, "shared": syscalls.MS_SHARED,
               "slave": syscalls.MS_SLAVE}


def bind(rootfs: str, m: BindMount) -> None:
    """The mount `m` at its destination: a host file or directory bound (the
    destination made as the same kind when missing), or a fresh tmpfs."""
    if m.kind == "tmpfs":
        target = resolve_in_rootfs(rootfs, m.destination)
        if not os.path.isdir(target):
            if os.path.lexists(target):
                raise MountError(f"tmpfs destination {m.destination} is not a directory")
            os.makedirs(target)
        # Docker's defaults for a tmpfs; words in `data` (exec, ro, ...) override them.
        flags, data = parse_options(m.data, syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC)
        if not m.writable:
            flags |= syscalls.MS_RDONLY
        syscalls.mount("tmpfs", target, "tmpfs", flags, data or None)
        return
    if not os.path.exists(m.source):
        raise MountError(f"bind mount source {m.source} does not exist")
    target = resolve_in_rootfs(rootfs, m.destination)
    source_is_dir = os.path.isdir(m.source)
    if os.path.lexists(target) and os.path.isdir(target) != source_is_dir:
        kind = "a directory" if source_is_dir else "a file"
        raise MountError(f"cannot mount {kind} ({m.source}) on {m.destination}: "
                         f"it is {'not ' if source_is_dir else ''}a directory in the container")
    if not os.path.exists(target):
        if source_is_dir:
            os.makedirs(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    syscalls.mount(m.source, target, None, syscalls.MS_BIND | syscalls.MS_REC)
    if not m.writable:
        remount_readonly(target)
    # The container's root is rprivate; a propagation other than that is set on the mount
    # itself (shared needs the host's source mount shared too, as with runc).
    mode = m.propagation or "rprivate"
    recursive = mode.startswith("r")
    flag = PROPAGATION.get(mode[1:] if recursive else mode)
    if flag is None:
        raise MountError(f"invalid mount propagation {mode!r}")
    if mode != "rprivate":
        syscalls.mount(None, target, None, flag | (syscalls.MS_REC if recursive else 0))


def remount_readonly(target: str, extra: int = 0) -> None:
    syscalls.mount(None, target, None,
                   syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY | extra)
