"""The container spec: what the daemon hands the helper process, as typed records.

The helper runs with `python -I -S` and every import is on the container start
path, so this module avoids `json`, `dataclasses` and `typing` (10-20 ms each
here): records are plain classes, shipped with `marshal` (built in, no import).
"""

from __future__ import annotations

import marshal


class _Record:
    """A small typed record: fields come from the class annotations, defaults from class attrs."""

    __slots__ = ()

    def __init__(self, **kwargs):
        for name in self._fields():
            if name in kwargs:
                value = kwargs.pop(name)
            elif hasattr(type(self), "_default_" + name):
                value = getattr(type(self), "_default_" + name)()
            else:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(kwargs)}")

    @classmethod
    def _fields(cls) -> list[str]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            names.extend(klass.__dict__.get("__annotations__", {}))
        return names

    def to_plain(self) -> dict:
        out = {}
        for name in self._fields():
            value = getattr(self, name)
            if isinstance(value, list):
                value = [v.to_plain() if isinstance(v, _Record) else v for v in value]
            out[name] = value
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_plain() == other.to_plain()


class BindMount(_Record):
    """A mount the init makes in the rootfs: a bind of a host file or directory
    (kind "bind"), or a fresh tmpfs (kind "tmpfs", `data` its mount options)."""

    __slots__ = ("source", "destination", "writable", "private", "kind", "data", "propagation")
    source: str
    destination: str
    writable: bool
    private: bool
    kind: str
    data: str
    propagation: str          # bind: "", private, rprivate, shared, rshared, slave, rslave
    _default_kind = staticmethod(lambda: "bind")
    _default_data = staticmethod(str)
    _default_propagation = staticmethod(str)


class DeviceNode(_Record):
    """A device node to create inside the container (resolved from the host by the daemon)."""

    __slots__ = ("path", "kind", "major", "minor", "mode", "uid", "gid")
    path: str          # inside the container
    kind: str          # "c" or "b"
    major: int
    minor: int
    mode: int          # permission bits
    uid: int
    gid: int


class ContainerSpec(_Record):
    __slots__ = ("id", "rootfs", "hostname", "args", "env", "cwd", "user", "tty",
                 "console_path", "mounts", "devices", "capabilities", "privileged",
                 "readonly_rootfs", "net_mode", "net_join_pid", "cgroup_procs",
                 "report_fd", "release_fd", "cgroup_mounts", "seccomp_filter",
                 "no_new_privileges", "pid_join", "pid_host", "ipc_join", "ipc_host", "uts_host",
                 "shm_source", "shm_size", "sysctls", "ulimits", "oom_score_adj", "group_add")
    id: str
    rootfs: str
    hostname: str
    args: list[str]
    env: list[str]
    cwd: str
    user: str
    tty: bool
    console_path: str          # host path of the pty slave when tty, else ""
    mounts: list[BindMount]
    devices: list[DeviceNode]
    capabilities: list[int]    # capability numbers to keep (privileged: all the daemon has)
    privileged: bool
    readonly_rootfs: bool
    net_mode: str              # none | bridge | host | container
    net_join_pid: int
    cgroup_procs: list[str]    # cgroup.procs files the helper writes itself into
    report_fd: int             # helper/child -> daemon messages
    release_fd: int            # daemon -> child: one byte releases the execve
    # [host dir, name]: the container's own cgroup of each hierarchy, bound read-only
    # (read-write when privileged) at /sys/fs/cgroup/<name> ("" = /sys/fs/cgroup itself).
    cgroup_mounts: list[list[str]]
    _default_cgroup_mounts = list
    # The compiled seccomp program (BPF, from the daemon's cache); b"" = none (privileged,
    # seccomp=unconfined). Installed as the init's last step before execve.
    seccomp_filter: bytes
    _default_seccomp_filter = bytes
    no_new_privileges: bool    # --security-opt no-new-privileges
    _default_no_new_privileges = bool
    # Namespaces shared with another process or the host (--pid, --ipc, --uts).
    pid_join: int              # host pid whose pid namespace to join; 0 = a new one
    _default_pid_join = int
    pid_host: bool
    _default_pid_host = bool
    ipc_join: int
    _default_ipc_join = int
    ipc_host: bool
    _default_ipc_host = bool
    uts_host: bool
    _default_uts_host = bool
    shm_source: str            # host directory bound at /dev/shm; "" = a tmpfs of shm_size
    _default_shm_source = str
    shm_size: int
    _default_shm_size = lambda: 64 << 20   # noqa: E731
    sysctls: list[list[str]]   # [name, value], written in the container's namespaces
    _default_sysctls = list
    ulimits: list[list]        # [name, soft, hard]
    _default_ulimits = list
    oom_score_adj: int
    _default_oom_score_adj = int
    group_add: list[str]       # more groups of the user (names or gids)
    _default_group_add = list

    def encode(self) -> str:
        return marshal.dumps(self.to_plain()).hex()

    @classmethod
    def decode(cls, text: str) -> "ContainerSpec":
        plain = marshal.loads(bytes.fromhex(text))
        plain["mounts"] = [BindMount(**m) for m in plain["mounts"]]
        plain["devices"] = [DeviceNode(**d) for d in plain["devices"]]
        return cls(**plain)


# Messages on the report pipe: one marshal'ed dict per write, small enough for an
# atomic pipe write (< PIPE_BUF), so helper and child never interleave.
def encode_message(**fields) -> bytes:
    body = marshal.dumps(fields)
    return len(body).to_bytes(4, "little") + body
