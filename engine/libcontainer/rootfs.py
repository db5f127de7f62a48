"""Build the container's filesystem view in its new mount namespace, then pivot_root.

Order matters: / is made rprivate first so that nothing below propagates to the
host; the rootfs is bind-mounted onto itself because pivot_root needs a mount
point; the kernel filesystems and /dev go in before the user's bind mounts so
a volume can cover them.

Stdlib-only (runs in the container init).
"""

from __future__ import annotations

import os

from . import devices, mounts, syscalls
from .spec import ContainerSpec

S = syscalls

# Non-privileged containers get these hidden or read-only, as with today's Docker
# (moby's oci defaults). Paths the kernel does not have are skipped.
MASKED_PATHS = ("/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

DEV_SYMLINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                ("ptmx", "pts/ptmx"))


class RootfsError(Exception):
    pass


def _mkdir(path: str, mode: int = 0o755) -> None:
    os.makedirs(path, mode=mode, exist_ok=True)


def prepare(spec: ContainerSpec) -> None:
    root = os.path.realpath(spec.rootfs)
    if not os.path.isdir(root):
        raise RootfsError(f"rootfs {spec.rootfs} is not a directory")
    S.mount(None, "/", None, S.MS_REC | S.MS_PRIVATE)
    S.mount(root, root, None, S.MS_BIND | S.MS_REC)

    proc = os.path.join(root, "proc")
    _mkdir(proc)
    S.mount("proc", proc, "proc", S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC)

    sys_dir = os.path.join(root, "sys")
    _mkdir(sys_dir)
    sys_flags = S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC
    if not spec.privileged:
        sys_flags |= S.MS_RDONLY
    S.mount("sysfs", sys_dir, "sysfs", sys_flags)
    _mount_cgroups(root, spec)

    _make_dev(root, spec)

    for m in spec.mounts:
        mounts.bind(root, m)
    for node in spec.devices:
        devices.make_node(mounts.resolve_in_rootfs(root, node.path), node)

    if not spec.privileged:
        _restrict_proc(root)   # after the user's mounts: a volume cannot uncover them


def _mount_cgroups(root: str, spec: ContainerSpec) -> None:
    """The container's own cgroups at /sys/fs/cgroup, so it can read its limits
    (`cat /sys/fs/cgroup/memory/memory.limit_in_bytes`) and nothing above them."""
    if not spec.cgroup_mounts:
        return
    base = os.path.join(root, "sys", "fs", "cgroup")
    if not os.path.isdir(base):
        return
    ro = 0 if spec.privileged else S.MS_RDONLY
    flags = S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC
    if len(spec.cgroup_mounts) == 1 and spec.cgroup_mounts[0][1] == "":
        S.mount(spec.cgroup_mounts[0][0], base, None, S.MS_BIND)
        if ro:
            mounts.remount_readonly(base, flags)
        return
    S.mount("tmpfs", base, "tmpfs", flags, "mode=755,size=64k")
    for source, name in spec.cgroup_mounts:
        target = os.path.join(base, name)
        _mkdir(target)
        S.mount(source, target, None, S.MS_BIND)
        if ro:
            mounts.remount_readonly(target, flags)
    S.mount(None, base, None, S.MS_REMOUNT | S.MS_RDONLY | flags, "mode=755,size=64k")


def _make_dev(root: str, spec: ContainerSpec) -> None:
    dev = os.path.join(root, "dev")
    _mkdir(dev)
    S.mount("tmpfs", dev, "tmpfs", S.MS_NOSUID | S.MS_STRICTATIME, "mode=755,size=65536k")
    for node in devices.default_nodes():
        devices.make_node(os.path.join(root, node.path.lstrip("/")), node)

    pts = os.path.join(dev, "pts")
    _mkdir(pts)
    S.mount("devpts", pts, "devpts", S.MS_NOSUID | S.MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=620,gid=5")
    shm = os.path.join(dev, "shm")
    _mkdir(shm, 0o1777)
    if spec.shm_source:   # another container's (--ipc container:x) or the host's (--ipc host)
        S.mount(spec.shm_source, shm, None, S.MS_BIND)
    else:
        S.mount("shm", shm, "tmpfs", S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC,
                f"mode=1777,size={spec.shm_size}")
    mqueue = os.path.join(dev, "mqueue")
    _mkdir(mqueue)
    S.mount("mqueue", mqueue, "mqueue", S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC)
    for name, target in DEV_SYMLINKS:
        os.symlink(target, os.path.join(dev, name))

    console = os.path.join(dev, "console")
    os.close(os.open(console, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    if spec.console_path:
        S.mount(spec.console_path, console, None, S.MS_BIND)


def _restrict_proc(root: str) -> None:
    """Read-only binds of READONLY_PATHS; MASKED_PATHS covered as runc does: a file by
    the container's /dev/null, a directory by an empty read-only tmpfs."""
    for path in READONLY_PATHS:
        p = root + path
        if os.path.lexists(p):
            S.mount(p, p, None, S.MS_BIND | S.MS_REC)
            mounts.remount_readonly(p, S.MS_NOSUID | S.MS_NODEV | S.MS_NOEXEC)
    null = os.path.join(root, "dev", "null")
    for path in MASKED_PATHS:
        p = root + path
        if os.path.isdir(p):
            S.mount("tmpfs", p, "tmpfs", S.MS_RDONLY)
        elif os.path.lexists(p):
            S.mount(null, p, None, S.MS_BIND)


def pivot(spec: ContainerSpec) -> None:
    """pivot_root into the rootfs and drop the old root.

    pivot_root(".", ".") stacks the old root on top of the new one; unmounting
    "." then detaches it without needing a directory inside the rootfs (which
    may be read-only)."""
    os.chdir(os.path.realpath(spec.rootfs))
    S.pivot_root(".", ".")
    S.umount2(".", S.MNT_DETACH)
    os.chdir("/")
    if spec.readonly_rootfs:
        mounts.remount_readonly("/")
