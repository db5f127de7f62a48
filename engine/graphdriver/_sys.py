"""The few syscalls the graph drivers need that Python 3.11's os module lacks (via ctypes)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.statfs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]

MNT_DETACH = 2
CLONE_FS = 0x200
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

OVERLAYFS_MAGIC = 0x794C7630
FS_NAMES = {
    0xEF53: "extfs", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs",
    OVERLAYFS_MAGIC: "overlayfs", 0x2FC12FC1: "zfs", 0xF2F52010: "f2fs", 0x6969: "nfs",
    0xF15F: "ecryptfs", 0x65735546: "fuse",
}


def _check(ret: int, what: str, path: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()),
           "mount", target)


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), flags), "umount", target)


def unshare_fs() -> None:
    """Give the calling thread its own cwd/root/umask (so chdir does not move other threads)."""
    _check(_libc.unshare(CLONE_FS), "unshare(CLONE_FS)", "")


def fs_magic(path: str) -> int:
    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type is its first word
    _check(_libc.statfs(path.encode(), buf), "statfs", path)
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def fs_name(path: str) -> str:
    magic = fs_magic(path)
    return FS_NAMES.get(magic, f"0x{magic:x}")


def mountpoints_under(prefix: str) -> list[str]:
    """Mount points at or below `prefix`, deepest first (the order to unmount them)."""
    prefix = os.path.realpath(prefix).rstrip("/")
    found = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            point = line.split()[4].decode("utf-8", "surrogateescape")
            point = point.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)
