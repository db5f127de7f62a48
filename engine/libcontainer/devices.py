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


# Not copied into a privileged container's /dev: the container has its own of these.
HOST_SKIP = ("pts", "shm", "mqueue", "fd", "console", "ptmx")


def host_nodes(root: str = "/dev") -> list[DeviceNode]:
    """Every device node under the host's /dev, for a privileged container (as Docker)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in HOST_SKIP]
        for name in filenames:
            if rel_dir == "." and name in HOST_SKIP:
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                continue
            out.append(DeviceNode(path="/dev/" + os.path.relpath(path, root),
                                  kind="c" if stat.S_ISCHR(st.st_mode) else "b",
                                  major=os.major(st.st_rdev), minor=os.minor(st.st_rdev),
                                  mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid))
    return out


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
