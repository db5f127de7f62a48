"""The cgroup manager interface, and the choice between cgroup v1 and v2.

A manager owns one container's cgroup: `create` makes it and applies limits,
the helper process writes itself into `procs_files()`, and `destroy` kills what
is left and removes it. `state()`/`load()` let a fresh daemon find it again.
"""

from __future__ import annotations

import abc
import errno
import os
import time
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"
DRIVER_ENV = "PYCTR_CGROUP_DRIVER"


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


def wait_until(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not pred():
        if time.monotonic() > deadline:
            raise CgroupError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def counter(path: str, key: str) -> int:
    """The value of `key` in a "key value" per line file (memory.events,
    memory.oom_control); 0 when the file or the key is not there."""
    try:
        for line in read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except FileNotFoundError:
        pass
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


class CgroupManager(abc.ABC):
    driver: str = ""

    @abc.abstractmethod
    def create(self) -> list[str]:
        """Create the cgroup and apply limits; return warnings (limits that could not be applied)."""

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


def host_support(driver: str | None = None) -> HostSupport:
    kind = choose_driver(driver)
    if kind == "v1":
        from .v1 import probe
    else:
        from .v2 import probe
    return probe()


def online_cpus() -> set[int]:
    try:
        return parse_cpu_list(read("/sys/devices/system/cpu/online"))
    except (OSError, ValueError):
        return set(range(os.cpu_count() or 1))


def v1_available() -> bool:
    return any(m.fstype == "cgroup" and "name=systemd" not in m.options for m in cgroup_mounts())


def choose_driver(forced: str | None = None) -> str:
    """v1 when v1 controller hierarchies are mounted, else v2; PYCTR_CGROUP_DRIVER or `forced` override."""
    choice = forced or os.environ.get(DRIVER_ENV, "")
    if choice in ("v1", "v2"):
        return choice
    if choice:
        raise CgroupError(f"unknown cgroup driver {choice!r} (want v1 or v2)")
    return "v1" if v1_available() else "v2"


def new(config: CgroupConfig, driver: str | None = None) -> CgroupManager:
    kind = choose_driver(driver)
    if kind == "v1":
        from .v1 import V1Manager
        return V1Manager(config)
    from .v2 import V2Manager
    return V2Manager(config)


def load(state: dict) -> CgroupManager:
    if state.get("driver") == "v1":
        from .v1 import V1Manager
        return V1Manager.from_state(state)
    from .v2 import V2Manager
    return V2Manager.from_state(state)
