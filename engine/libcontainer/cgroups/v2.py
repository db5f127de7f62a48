"""cgroup v2: one directory in the unified hierarchy.

Device control on v2 needs an eBPF program attached to the cgroup; that is not
implemented, so on v2 the device whitelist is skipped (with a warning) and only
the container's own /dev (which it cannot mknod into without CAP_MKNOD misuse)
limits device access.
"""

from __future__ import annotations

import errno
import os
import signal
from typing import Callable

from .manager import (CgroupConfig, CgroupError, CgroupManager, CgroupUsage, HostSupport, cgroup_mounts,
                      counter, host_path, online_cpus, own_cgroups, parse_cpu_list, read, read_int,
                      read_keyed, read_pids, remove_dir, wait_until, write)

# Where the daemon moves itself when its own cgroup must hand controllers to
# children (cgroup v2's "no internal processes" rule).
DAEMON_LEAF = "pyctrd"


def unified_mount():
    for m in cgroup_mounts():
        if m.fstype == "cgroup2":
            return m
    raise CgroupError("no cgroup2 hierarchy is mounted")


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000], linear as the kernel docs map them."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def probe() -> HostSupport:
    m = unified_mount()
    own = host_path(m, own_cgroups().get("", "/"))
    try:
        available = set(read(os.path.join(m.mountpoint, "cgroup.controllers")).split())
    except OSError:
        available = set()
    cpus = online_cpus()
    try:
        cpus = parse_cpu_list(read(os.path.join(own, "cpuset.cpus.effective"))) or cpus
    except (OSError, ValueError):
        pass
    swap = "memory" in available and _swap_accounting(own, m.mountpoint)
    mems = {0}
    try:
        mems = parse_cpu_list(read(os.path.join(own, "cpuset.mems.effective"))) or mems
    except (OSError, ValueError):
        pass
    return HostSupport(driver="v2", memory="memory" in available, swap=swap,
                       cpu_shares="cpu" in available, cpuset="cpuset" in available,
                       pids="pids" in available, devices=False, freezer=True,
                       cpus=frozenset(cpus), mems=frozenset(mems), cpu_cfs="cpu" in available,
                       memory_reservation="memory" in available,
                       # v2 has neither a per-cgroup swappiness nor a way to turn the OOM killer off
                       swappiness=False, oom_kill_disable=False,
                       blkio_weight="io" in available, blkio_weight_device="io" in available,
                       blkio_throttle="io" in available)


def _swap_accounting(own: str, root: str) -> bool:
    if os.path.normpath(own) != os.path.normpath(root):
        return os.path.exists(os.path.join(own, "memory.swap.max"))
    # The root cgroup has no memory.* files: the kernel's switch is all there is to read.
    try:
        return "swapaccount=0" not in read("/proc/cmdline").split()
    except OSError:
        return True


def wanted_controllers(cfg: CgroupConfig) -> list[str]:
    """The controllers a container's limits need enabled in its parents' subtree_control."""
    wanted = []
    if cfg.memory:
        wanted.append("memory")
    if cfg.cpu_shares:
        wanted.append("cpu")
    if cfg.cpuset:
        wanted.append("cpuset")
    if cfg.pids_limit:
        wanted.append("pids")
    if cfg.memory_reservation and "memory" not in wanted:
        wanted.append("memory")
    if (cfg.cpu_period or cfg.cpu_quota) and "cpu" not in wanted:
        wanted.append("cpu")
    if cfg.cpuset_mems and "cpuset" not in wanted:
        wanted.append("cpuset")
    if cfg.blkio_weight or cfg.blkio_weight_devices or cfg.read_bps or cfg.write_bps \
            or cfg.read_iops or cfg.write_iops:
        wanted.append("io")
    return wanted


def limit_writes(cfg: CgroupConfig, has: Callable[[str], bool]) -> list[tuple[str, str]]:
    """The (file, value) writes that apply `cfg`'s limits, in order; `has(name)` says whether the
    cgroup has that interface file (a controller that is not enabled has none)."""
    writes = []
    if cfg.memory and has("memory.max"):
        writes.append(("memory.max", str(cfg.memory)))
        if cfg.memory_swap == -1:
            writes.append(("memory.swap.max", "max"))
        elif has("memory.swap.max"):
            # v1's memory+swap becomes v2's swap-only limit.
            swap = (cfg.memory_swap or 2 * cfg.memory) - cfg.memory
            writes.append(("memory.swap.max", str(max(swap, 0))))
    if cfg.cpu_shares and has("cpu.weight"):
        writes.append(("cpu.weight", str(shares_to_weight(cfg.cpu_shares))))
    if cfg.cpuset and has("cpuset.cpus"):
        writes.append(("cpuset.cpus", cfg.cpuset))
    if cfg.pids_limit and has("pids.max"):
        writes.append(("pids.max", str(cfg.pids_limit)))
    if cfg.memory_reservation and has("memory.low"):
        writes.append(("memory.low", str(cfg.memory_reservation)))
    if (cfg.cpu_period or cfg.cpu_quota) and has("cpu.max"):
        quota = str(cfg.cpu_quota) if cfg.cpu_quota > 0 else "max"
        writes.append(("cpu.max", f"{quota} {cfg.cpu_period or 100000}"))
    if cfg.cpuset_mems and has("cpuset.mems"):
        writes.append(("cpuset.mems", cfg.cpuset_mems))
    # io.weight is CFQ-less v2's; io.bfq.weight where BFQ schedules the disk
    weight = "io.weight" if has("io.weight") else "io.bfq.weight"
    if cfg.blkio_weight and has(weight):
        writes.append((weight, f"default {cfg.blkio_weight}" if weight == "io.weight" else str(cfg.blkio_weight)))
    for major, minor, value in cfg.blkio_weight_devices:
        if has(weight):
            writes.append((weight, f"{major}:{minor} {value}"))
    limits: dict[tuple[int, int], list[str]] = {}
    for key, devices in (("rbps", cfg.read_bps), ("wbps", cfg.write_bps),
                         ("riops", cfg.read_iops), ("wiops", cfg.write_iops)):
        for major, minor, value in devices:
            limits.setdefault((major, minor), []).append(f"{key}={value}")
    if has("io.max"):
        for (major, minor), parts in limits.items():
            writes.append(("io.max", f"{major}:{minor} " + " ".join(parts)))
    return writes


class V2Manager(CgroupManager):
    driver = "v2"

    def __init__(self, config: CgroupConfig | None, path: str | None = None, root: str | None = None):
        """`root`: the cgroup2 hierarchy to work in (the host's mounted one unless given; a
        parent is then a path below it, not the daemon's own cgroup)."""
        self.config = config
        if path is None:
            assert config is not None
            if root is None:
                m = unified_mount()
                parent = ("/" + config.parent.strip("/")) if config.parent else own_cgroups().get("", "/")
                self.parent_path = host_path(m, parent)
                self.root = m.mountpoint
            else:
                self.root = root
                self.parent_path = os.path.join(root, config.parent.strip("/"))
            path = os.path.join(self.parent_path, config.name)
        self.path = path

    @classmethod
    def from_state(cls, state: dict) -> "V2Manager":
        return cls(None, state["path"])

    def state(self) -> dict:
        return {"driver": self.driver, "path": self.path}

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def visible_mounts(self) -> list[tuple[str, str]]:
        return [(self.path, "")]

    def _file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def create(self) -> list[str]:
        cfg = self.config
        assert cfg is not None
        try:
            os.makedirs(self.parent_path, exist_ok=True)
            warnings = self._enable(wanted_controllers(cfg))
            os.mkdir(self.path)
            warnings += self._apply(cfg)
        except OSError as e:
            self.destroy()
            raise CgroupError(f"cgroup v2 setup: {e}") from e
        if not cfg.allow_all_devices:
            warnings.append("cgroup v2: device whitelist not enforced (needs eBPF)")
        return warnings

    def _enable(self, controllers: list[str]) -> list[str]:
        """Enable `controllers` in subtree_control from the root down to the parent."""
        if not controllers:
            return []
        warnings = []
        chain = []
        p = self.parent_path
        while True:
            chain.append(p)
            if os.path.normpath(p) == os.path.normpath(self.root):
                break
            p = os.path.dirname(p)
        for d in reversed(chain):
            available = read(os.path.join(d, "cgroup.controllers")).split()
            enabled = read(os.path.join(d, "cgroup.subtree_control")).split()
            for c in controllers:
                if c not in available:
                    if c not in " ".join(warnings):
                        warnings.append(f"cgroup v2: {c} controller not available: limit discarded")
                    continue
                if c in enabled:
                    continue
                try:
                    write(os.path.join(d, "cgroup.subtree_control"), "+" + c)
                except OSError as e:
                    if e.errno != errno.EBUSY or d != self.parent_path:
                        raise
                    # No internal processes: the parent (the daemon's own cgroup) has
                    # processes, so move them into a leaf first, then retry.
                    self._evacuate(d)
                    write(os.path.join(d, "cgroup.subtree_control"), "+" + c)
        return warnings

    @staticmethod
    def _evacuate(d: str) -> None:
        leaf = os.path.join(d, DAEMON_LEAF)
        os.makedirs(leaf, exist_ok=True)
        for pid in read_pids(os.path.join(d, "cgroup.procs")):
            try:
                write(os.path.join(leaf, "cgroup.procs"), str(pid))
            except ProcessLookupError:
                pass

    def _apply(self, cfg: CgroupConfig) -> list[str]:
        for name, value in limit_writes(cfg, lambda name: os.path.exists(self._file(name))):
            write(self._file(name), value)
        return []

    def update(self, config: CgroupConfig) -> list[str]:
        try:
            warnings = self._enable(wanted_controllers(config))
            writes = limit_writes(config, lambda name: os.path.exists(self._file(name)))
            for name, value in writes:
                write(self._file(name), value)
        except OSError as e:
            raise CgroupError(f"cgroup v2 update: {e.strerror or e}") from e
        return warnings

    def procs_files(self) -> list[str]:
        return [self._file("cgroup.procs")]

    def pids(self) -> list[int]:
        return read_pids(self._file("cgroup.procs"))

    def _frozen(self) -> bool:
        return "frozen 1" in read(self._file("cgroup.events"))

    def freeze(self) -> None:
        write(self._file("cgroup.freeze"), "1")
        wait_until(self._frozen, 5.0, "the cgroup to freeze")

    def thaw(self) -> None:
        write(self._file("cgroup.freeze"), "0")
        wait_until(lambda: not self._frozen(), 5.0, "the cgroup to thaw")

    def oom_killed(self) -> bool:
        return counter(self._file("memory.events"), "oom_kill") > 0

    def usage(self) -> CgroupUsage:
        if not self.exists():
            raise CgroupError(f"cgroup {self.path} is gone")
        cpu = read_keyed(self._file("cpu.stat"))
        events = read_keyed(self._file("memory.events"))
        return CgroupUsage(
            cpu_total=cpu.get("usage_usec", 0) * 1000,
            cpu_user=cpu.get("user_usec", 0) * 1000,
            cpu_system=cpu.get("system_usec", 0) * 1000,
            throttle_periods=cpu.get("nr_periods", 0),
            throttled_periods=cpu.get("nr_throttled", 0),
            throttled_time=cpu.get("throttled_usec", 0) * 1000,
            memory_usage=read_int(self._file("memory.current")),
            memory_max_usage=read_int(self._file("memory.peak")),
            memory_limit=read_int(self._file("memory.max")),
            memory_failcnt=events.get("max", 0),
            memory_stat=read_keyed(self._file("memory.stat")),
            pids=read_int(self._file("pids.current"), len(self.pids())))

    def destroy(self) -> None:
        if not os.path.isdir(self.path):
            return
        if self.pids():
            def kill_and_check() -> bool:
                left = self.pids()
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                return not left

            if os.path.exists(self._file("cgroup.kill")):
                write(self._file("cgroup.kill"), "1")   # all at once, frozen tasks too
            else:
                # Before 5.14: kill them frozen, so none sees a sibling die and exits on
                # its own (a shell's `wait` would exit 0, not 137); fatal signals reach
                # frozen tasks on v2.
                try:
                    write(self._file("cgroup.freeze"), "1")
                    wait_until(self._frozen, 2.0, "the cgroup to freeze")
                except (CgroupError, OSError):
                    pass
                kill_and_check()
                try:
                    write(self._file("cgroup.freeze"), "0")
                except OSError:
                    pass

            wait_until(kill_and_check, 10.0, "the container's processes to die")

        remove_dir(self.path)
