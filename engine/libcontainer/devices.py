"""Device nodes in the container's /dev, and the default device whitelist.

Stdlib-only (runs in the container init).
"""

from __future__ import annotations

import os
import stat

from .spec import DeviceNode

# (name, major, minor): created by mknod in the container's tmpfs /dev.
DEFAULT_NODES = (
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
    ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)

# The devices cgroup whitelist Docker 1.2 gave every container:
# (kind, major, minor, access), -1 meaning any.
DEFAULT_ALLOWED = (
    ("c", -1, -1, "m"), ("b", -1, -1, "m"),            # mknod is allowed, use is not
    ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 7, "rwm"),
    ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"),
    ("c", 5, 0, "rwm"), ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"),   # tty, console, ptmx
    ("c", 136, -1, "rwm"),                             # pts
    ("c", 10, 200, "rwm"),                             # tun
)


class DeviceError(Exception):
    pass


def from_host(path_on_host: str, path_in_container: str) -> DeviceNode:
    try:
        st = os.stat(path_on_host)
    except OSError as e:
        raise DeviceError(f"device {path_on_host}: {e.strerror}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise DeviceError(f"{path_on_host} is not a device node")
    return DeviceNode(path=path_in_container, kind=kind, major=os.major(st.st_rdev),
                      minor=os.minor(st.st_rdev), mode=stat.S_IMODE(st.st_mode),
                      uid=st.st_uid, gid=st.st_gid)


def make_node(host_path: str, node: DeviceNode) -> None:
    """mknod `node` at `host_path` (a path inside the container's rootfs, seen from outside)."""
    os.makedirs(os.path.dirname(host_path), exist_ok=True)
    kind = stat.S_IFCHR if node.kind == "c" else stat.S_IFBLK
    try:
        os.unlink(host_path)
    except FileNotFoundError:
        pass
    os.mknod(host_path, kind | node.mode, os.makedev(node.major, node.minor))
    os.chmod(host_path, node.mode)   # mknod honours the umask
    os.chown(host_path, node.uid, node.gid)


def default_nodes() -> list[DeviceNode]:
    return [DeviceNode(path="/dev/" + name, kind="c", major=ma, minor=mi, mode=0o666, uid=0, gid=0)
            for name, ma, mi in DEFAULT_NODES]
