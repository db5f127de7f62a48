"""The cgroup manager interface, its records, and the file helpers v1 and v2 share.

A manager owns one container's cgroup: `create` makes it and applies limits,
the helper process writes itself into `procs_files()`, `usage` reads what it
uses, and `destroy` kills what is left and removes it. `state()` (and the
factory's `load`) let a fresh daemon find it again. Which version serves a
host is the factory's choice (factory.py): this module knows neither.
"""

from __future__ import annotations

import abc
import errno
import os
import time
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"


class CgroupError(Exception):
    pass


@dataclass(frozen=True)
class DeviceRule:
    kind: str          # "a", "c" or "b"
    major: int = -1    # -1 = any
    minor: int = -1
    access: str = "rwm"

    def __str__(self) -> str:
        if self.kind == "a":
            return "a"
        num = lambda n: "*" if n < 0 else str(n)  # noqa: E731
        return f"{self.kind} {num(self.major)}:{num(self.minor)} {self.access}"


@dataclass
class CgroupConfig:
    name: str                  # the container id
    parent: str = ""           # relative to each hierarchy root; "" = the daemon's own cgroup
    memory: int = 0            # bytes, 0 = unlimited
    memory_swap: int = 0       # memory+swap bytes; 0 = 2x memory (Docker 1.2), -1 = unlimited
    cpu_shares: int = 0
    cpuset: str = ""
    pids_limit: int = 0        # most tasks at once; 0 = unlimited
    memory_reservation: int = 0   # soft limit, bytes; 0 = none
    memory_swappiness: int = -1   # 0-100; -1 = the kernel's
    oom_kill_disable: bool = False
    cpu_period: int = 0        # CFS period, us; 0 = the kernel's (100000)
    cpu_quota: int = 0         # CFS quota per period, us; 0 = none
    cpuset_mems: str = ""
    blkio_weight: int = 0      # 10-1000; 0 = the kernel's
    # (major, minor, value) per device
    blkio_weight_devices: list[tuple[int, int, int]] = field(default_factory=list)
    read_bps: list[tuple[int, int, int]] = field(default_factory=list)
    write_bps: list[tuple[int, int, int]] = field(default_factory=list)
    read_iops: list[tuple[int, int, int]] = field(default_factory=list)
    write_iops: list[tuple[int, int, int]] = field(default_factory=list)
    allow_all_devices: bool = False
    devices: list[DeviceRule] = field(default_factory=list)


@dataclass
class Mount:
    mountpoint: str
    root: str                  # the hierarchy path that is mounted there
    fstype: str
    options: list[str]


def cgroup_mounts() -> list[Mount]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields, after = pre.split(), post.split()
            if after[0] in ("cgroup", "cgroup2"):
                out.append(Mount(fields[4], fields[3], after[0], after[2].split(",")))
    return out


def own_cgroups() -> dict[str, str]:
    """Controller (or "name=x", or "" for v2) -> this process's cgroup path."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _id, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


def host_path(mount: Mount, cgroup_path: str) -> str:
    """Where a hierarchy path is visible on this host, given how the hierarchy is mounted."""
    rel = cgroup_path
    if mount.root != "/" and (rel == mount.root or rel.startswith(mount.root + "/")):
        rel = rel[len(mount.root):]
    return os.path.join(mount.mountpoint, rel.lstrip("/"))


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def read_pids(procs_file: str) -> list[int]:
    try:
        return [int(x) for x in read(procs_file).split()]
    except FileNotFoundError:
        return []
    except OSError as e:
        if e.errno == errno.ENODEV:   # removed while we read it (a concurrent destroy): empty
            return []
        raise


def wait_until(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not pred():
        if time.monotonic() > deadline:
            raise CgroupError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def read_int(path: str, default: int = 0) -> int:
    """A one-number file; `default` when it is missing, empty or "max"."""
    try:
        text = read(path).strip()
    except FileNotFoundError:
        return default
    return default if text in ("", "max") else int(text)


def read_keyed(path: str) -> dict[str, int]:
    """A "key value" per line file (cpu.stat, memory.stat); {} when it is missing."""
    try:
        lines = read(path).splitlines()
    except FileNotFoundError:
        return {}
    return {k: int(v) for k, _, v in (line.partition(" ") for line in lines) if v.strip().isdigit()}


def counter(path: str, key: str) -> int:
    """The value of `key` in a "key value" per line file (memory.events,
    memory.oom_control); 0 when the file or the key is not there."""
    try:
        for line in read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (FileNotFoundError, ProcessLookupError):
        pass
    except OSError as exc:   # ENODEV: the cgroup is being removed (a destroy running meanwhile)
        if exc.errno != errno.ENODEV:
            raise
    return 0


def remove_dir(path: str) -> None:
    """rmdir a cgroup; a just-killed task can hold it busy for a moment."""
    def attempt() -> bool:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno == errno.EBUSY:
                return False
            raise
        return True

    wait_until(attempt, 5.0, f"rmdir {path}")


@dataclass
class CgroupUsage:
    """One reading of a container's cgroup, in Docker's units (ns, bytes)."""
    cpu_total: int = 0
    cpu_percpu: list[int] | None = None   # None where the version does not count per CPU (v2)
    cpu_user: int = 0
    cpu_system: int = 0
    throttle_periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0
    memory_usage: int = 0
    memory_max_usage: int = 0
    memory_limit: int = 0          # 0: no limit of its own
    memory_failcnt: int = 0
    memory_stat: dict[str, int] | None = None
    pids: int = 0


class CgroupManager(abc.ABC):
    driver: str = ""

    @abc.abstractmethod
    def __init__(self, config: CgroupConfig) -> None: ...

    @classmethod
    @abc.abstractmethod
    def from_state(cls, state: dict) -> "CgroupManager":
        """The manager of a cgroup that `state()` described."""

    @abc.abstractmethod
    def create(self) -> list[str]:
        """Create the cgroup and apply limits; return warnings (limits that could not be applied)."""

    @abc.abstractmethod
    def update(self, config: CgroupConfig) -> list[str]:
        """Apply `config`'s resource limits (not its devices) to the existing cgroup, at
        once; return warnings. CgroupError when the kernel refuses one."""

    @abc.abstractmethod
    def procs_files(self) -> list[str]:
        """The cgroup.procs files a process writes its pid into to join."""

    @abc.abstractmethod
    def pids(self) -> list[int]: ...

    @abc.abstractmethod
    def freeze(self) -> None: ...

    @abc.abstractmethod
    def thaw(self) -> None: ...

    @abc.abstractmethod
    def oom_killed(self) -> bool: ...

    @abc.abstractmethod
    def usage(self) -> CgroupUsage:
        """CPU, memory and pids used so far. CgroupError when the cgroup is gone."""

    @abc.abstractmethod
    def destroy(self) -> None:
        """SIGKILL every process left, wait until the cgroup is empty, remove it. Idempotent."""

    @abc.abstractmethod
    def state(self) -> dict:
        """What `load` needs to find this cgroup again (JSON-able)."""

    @abc.abstractmethod
    def exists(self) -> bool: ...

    @abc.abstractmethod
    def visible_mounts(self) -> list[tuple[str, str]]:
        """(host directory, name under the container's /sys/fs/cgroup) for each hierarchy
        the container can see its own cgroup through; "" = /sys/fs/cgroup itself (v2)."""


@dataclass(frozen=True)
class HostSupport:
    """What this host's cgroups can enforce, probed once per daemon (for create's checks)."""
    driver: str
    memory: bool
    swap: bool             # memory+swap accounting (v1 memsw, v2 memory.swap.max)
    cpu_shares: bool
    cpuset: bool
    pids: bool
    devices: bool          # a device whitelist (v1 only: v2 needs eBPF)
    freezer: bool
    cpus: frozenset[int]   # CPUs a container may be given (the daemon's own cpuset)
    mems: frozenset[int] = frozenset({0})   # memory nodes, likewise
    cpu_cfs: bool = False          # CFS period and quota
    memory_reservation: bool = False
    swappiness: bool = False       # v1 only
    oom_kill_disable: bool = False  # v1 only
    blkio_weight: bool = False
    blkio_weight_device: bool = False
    blkio_throttle: bool = False


def parse_cpu_list(text: str) -> set[int]:
    """ "0-2,5" -> {0, 1, 2, 5}; ValueError if malformed."""
    out: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        first, last = int(lo), int(hi) if dash else int(lo)
        if first > last or first < 0:
            raise ValueError(f"bad cpu range {part!r}")
        out.update(range(first, last + 1))
    return out


def online_cpus() -> set[int]:
    try:
        return parse_cpu_list(read("/sys/devices/system/cpu/online"))
    except (OSError, ValueError):
        return set(range(os.cpu_count() or 1))
