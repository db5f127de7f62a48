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


def resolve_in_rootfs(rootfs: str, path: str) -> str:
    """The host path of container path `path`, following symlinks inside `rootfs`."""
    try:
        return resolve_in_root(rootfs, path, clamp_above_root=False, reroot_absolute=True)
    except PathEscape as e:
        if e.kind == "loop":
            raise MountError(f"mount destination {path}: too many symlinks") from None
        raise MountError(f"mount destination {path} resolves outside the container rootfs") from None


def bind(rootfs: str, m: BindMount) -> None:
    if not os.path.exists(m.source):
        raise MountError(f"bind mount source {m.source} does not exist")
    target = resolve_in_rootfs(rootfs, m.destination)
    if not os.path.exists(target):
        if os.path.isdir(m.source):
            os.makedirs(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    syscalls.mount(m.source, target, None, syscalls.MS_BIND | syscalls.MS_REC)
    if not m.writable:
        remount_readonly(target)
    # Everything is already private under the container's rprivate root; "shared"
    # volumes (private=False) would need MS_SHARED on both sides: not supported.


def remount_readonly(target: str, extra: int = 0) -> None:
    syscalls.mount(None, target, None,
                   syscalls.MS_BIND | syscalls.MS_REMOUNT | syscalls.MS_RDONLY | extra)
