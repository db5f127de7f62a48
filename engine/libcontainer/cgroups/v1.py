"""cgroup v1: one directory per mounted hierarchy (memory, cpu, cpuset, devices, freezer, ...)."""

from __future__ import annotations

import logging
import os
import signal

from .manager import (CgroupConfig, CgroupError, CgroupManager, CgroupUsage, HostSupport, cgroup_mounts,
                      counter, host_path, online_cpus, own_cgroups, parse_cpu_list, read, read_int,
                      read_keyed, read_pids, remove_dir, wait_until, write)

# The hierarchies a container joins. name=systemd is left alone: the container stays
# in the daemon's systemd unit, as with Docker 1.2.
CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids",
               "hugetlb", "net_cls", "net_prio", "perf_event")

log = logging.getLogger(__name__)


def _own_dirs() -> dict[str, str]:
    """Controller -> the host directory of the calling process's own v1 cgroup."""
    own = own_cgroups()
    out = {}
    for m in cgroup_mounts():
        if m.fstype == "cgroup":
            for ctrl in m.options:
                if ctrl in CONTROLLERS:
                    out[ctrl] = host_path(m, own.get(ctrl, "/"))
    return out


def probe() -> HostSupport:
    own = _own_dirs()
    has = lambda ctrl, f: ctrl in own and os.path.exists(os.path.join(own[ctrl], f))  # noqa: E731
    cpus = online_cpus()
    if "cpuset" in own:
        try:
            cpus = parse_cpu_list(read(os.path.join(own["cpuset"], "cpuset.cpus"))) or cpus
        except (OSError, ValueError):
            pass
    mems = {0}
    if "cpuset" in own:
        try:
            mems = parse_cpu_list(read(os.path.join(own["cpuset"], "cpuset.mems"))) or mems
        except (OSError, ValueError):
            pass
    # The weight files exist only below the root cgroup: look in a child the daemon
    # may already have, else take the controller's presence for them.
    blkio = "blkio" in own
    return HostSupport(driver="v1", memory=has("memory", "memory.limit_in_bytes"),
                       swap=has("memory", "memory.memsw.limit_in_bytes"),
                       cpu_shares=has("cpu", "cpu.shares"), cpuset="cpuset" in own,
                       pids="pids" in own, devices="devices" in own,
                       freezer="freezer" in own, cpus=frozenset(cpus), mems=frozenset(mems),
                       cpu_cfs=has("cpu", "cpu.cfs_quota_us"),
                       memory_reservation=has("memory", "memory.soft_limit_in_bytes"),
                       swappiness=has("memory", "memory.swappiness"),
                       oom_kill_disable=has("memory", "memory.oom_control"),
                       blkio_weight=blkio and _blkio_weight_supported(own["blkio"]),
                       blkio_weight_device=blkio and _blkio_weight_supported(own["blkio"]),
                       blkio_throttle=has("blkio", "blkio.throttle.read_bps_device"))


def _blkio_weight_supported(own_blkio: str) -> bool:
    """Whether a cgroup below `own_blkio` gets a weight file (CFQ's or BFQ's): the root
    cgroup has none, so a child is made and removed to see."""
    probe_dir = os.path.join(own_blkio, f"pyctr-probe-{os.getpid()}")
    try:
        os.mkdir(probe_dir)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        return any(os.path.exists(os.path.join(probe_dir, f)) for f in ("blkio.weight", "blkio.bfq.weight"))
    finally:
        try:
            os.rmdir(probe_dir)
        except OSError:
            pass


def _device_lines(devices: list[tuple[int, int, int]]) -> list[str]:
    return [f"{major}:{minor} {value}" for major, minor, value in devices]


def limit_writes(cfg: CgroupConfig, has) -> list[tuple[str, str, str]]:
    """The (controller, file, value) writes that apply `cfg`'s limits, in order; `has(ctrl,
    name)` says whether the cgroup has that file (BFQ's blkio files replace CFQ's)."""
    writes: list[tuple[str, str, str]] = []
    if cfg.memory:
        writes.append(("memory", "memory.limit_in_bytes", str(cfg.memory)))
        swap = cfg.memory_swap if cfg.memory_swap else 2 * cfg.memory
        if has("memory", "memory.memsw.limit_in_bytes"):
            writes.append(("memory", "memory.memsw.limit_in_bytes", str(swap)))
    if cfg.memory_reservation:
        writes.append(("memory", "memory.soft_limit_in_bytes", str(cfg.memory_reservation)))
    if cfg.memory_swappiness >= 0:
        writes.append(("memory", "memory.swappiness", str(cfg.memory_swappiness)))
    if cfg.oom_kill_disable:
        writes.append(("memory", "memory.oom_control", "1"))
    if cfg.cpu_shares:
        writes.append(("cpu", "cpu.shares", str(cfg.cpu_shares)))
    if cfg.cpu_period:
        writes.append(("cpu", "cpu.cfs_period_us", str(cfg.cpu_period)))
    if cfg.cpu_quota:
        writes.append(("cpu", "cpu.cfs_quota_us", str(cfg.cpu_quota)))
    if cfg.cpuset:
        writes.append(("cpuset", "cpuset.cpus", cfg.cpuset))
    if cfg.cpuset_mems:
        writes.append(("cpuset", "cpuset.mems", cfg.cpuset_mems))
    if cfg.pids_limit:
        writes.append(("pids", "pids.max", str(cfg.pids_limit)))
    bfq = not has("blkio", "blkio.weight") and has("blkio", "blkio.bfq.weight")
    weight = "blkio.bfq.weight" if bfq else "blkio.weight"
    if cfg.blkio_weight:
        writes.append(("blkio", weight, str(cfg.blkio_weight)))
    for line in _device_lines(cfg.blkio_weight_devices):
        writes.append(("blkio", weight + "_device", line))
    for name, devices in (("read_bps", cfg.read_bps), ("write_bps", cfg.write_bps),
                          ("read_iops", cfg.read_iops), ("write_iops", cfg.write_iops)):
        for line in _device_lines(devices):
            writes.append(("blkio", f"blkio.throttle.{name}_device", line))
    return writes


class V1Manager(CgroupManager):
    driver = "v1"

    def __init__(self, config: CgroupConfig | None, paths: dict[str, str] | None = None):
        self.config = config
        # controller -> host directory of this container's cgroup (co-mounted
        # controllers share one directory).
        self.paths: dict[str, str] = paths if paths is not None else self._paths(config)

    @classmethod
    def from_state(cls, state: dict) -> "V1Manager":
        return cls(None, dict(state["paths"]))

    def state(self) -> dict:
        return {"driver": self.driver, "paths": self.paths}

    @staticmethod
    def _paths(config: CgroupConfig) -> dict[str, str]:
        own = own_cgroups()
        paths = {}
        for m in cgroup_mounts():
            if m.fstype != "cgroup":
                continue
            for ctrl in m.options:
                if ctrl not in CONTROLLERS:
                    continue
                parent = ("/" + config.parent.strip("/")) if config.parent else own.get(ctrl, "/")
                paths[ctrl] = os.path.join(host_path(m, parent), config.name)
        if not paths:
            raise CgroupError("no cgroup v1 hierarchies are mounted")
        return paths

    def visible_mounts(self) -> list[tuple[str, str]]:
        out = []
        for m in cgroup_mounts():
            ctrls = [c for c in m.options if c in self.paths]
            if m.fstype == "cgroup" and ctrls:
                out.append((self.paths[ctrls[0]], os.path.basename(m.mountpoint)))
        return out

    def _dirs(self) -> list[str]:
        return sorted(set(self.paths.values()))

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._dirs())

    def create(self) -> list[str]:
        cfg = self.config
        assert cfg is not None
        try:
            for d in self._dirs():
                self._mkdirs(d, cpuset="cpuset" in self.paths and d == self.paths["cpuset"])
            return self._apply(cfg)
        except OSError as e:
            self.destroy()
            raise CgroupError(f"cgroup v1 setup: {e}") from e

    @staticmethod
    def _mkdirs(path: str, cpuset: bool) -> None:
        """mkdir -p; a new cpuset cgroup is unusable until cpus/mems are copied from its parent."""
        missing = []
        p = path
        while not os.path.isdir(p):
            missing.append(p)
            p = os.path.dirname(p)
        for d in reversed(missing):
            os.mkdir(d)
            if cpuset:
                parent = os.path.dirname(d)
                for f in ("cpuset.cpus", "cpuset.mems"):
                    if not read(os.path.join(d, f)).strip():
                        write(os.path.join(d, f), read(os.path.join(parent, f)).strip())

    def _apply(self, cfg: CgroupConfig) -> list[str]:
        warnings = self._write_limits(cfg, limit_writes(cfg, self._has))
        if cfg.memory and cfg.memory_swap and not self._has("memory", "memory.memsw.limit_in_bytes"):
            warnings.append("swap accounting is off: memory+swap limit discarded")
        dev = self.paths.get("devices")
        if dev:
            if cfg.allow_all_devices:
                write(os.path.join(dev, "devices.allow"), "a")
            else:
                write(os.path.join(dev, "devices.deny"), "a")
                for rule in cfg.devices:
                    write(os.path.join(dev, "devices.allow"), str(rule))
        else:
            warnings.append("devices cgroup not mounted: no device whitelist")
        return warnings

    def _has(self, ctrl: str, name: str) -> bool:
        return ctrl in self.paths and os.path.exists(os.path.join(self.paths[ctrl], name))

    def _write_limits(self, cfg: CgroupConfig, writes: list[tuple[str, str, str]]) -> list[str]:
        warnings = []
        for ctrl, name, value in writes:
            if ctrl not in self.paths:
                warnings.append(f"{ctrl} cgroup not mounted: {name} discarded")
                continue
            write(os.path.join(self.paths[ctrl], name), value)
        return warnings

    def update(self, config: CgroupConfig) -> list[str]:
        writes = limit_writes(config, self._has)
        # The kernel keeps memory <= memory+swap at every step: raising both, the
        # memsw limit goes first; lowering both, the memory limit goes first.
        mem = self.paths.get("memory")
        if mem and config.memory:
            current = read_int(os.path.join(mem, "memory.limit_in_bytes"))
            if config.memory > current:
                writes.sort(key=lambda w: w[1] != "memory.memsw.limit_in_bytes")
        try:
            return self._write_limits(config, writes)
        except OSError as e:
            raise CgroupError(f"cgroup v1 update: {e.strerror or e}") from e

    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self._dirs()]

    def _tracking_dir(self) -> str:
        for ctrl in ("freezer", "pids", "memory", "cpu"):
            if ctrl in self.paths:
                return self.paths[ctrl]
        return self._dirs()[0]

    def pids(self) -> list[int]:
        return read_pids(os.path.join(self._tracking_dir(), "cgroup.procs"))

    def _freezer_state(self) -> str:
        return read(os.path.join(self.paths["freezer"], "freezer.state")).strip()

    def freeze(self) -> None:
        if "freezer" not in self.paths:
            raise CgroupError("freezer cgroup not mounted")
        write(os.path.join(self.paths["freezer"], "freezer.state"), "FROZEN")
        wait_until(lambda: self._freezer_state() == "FROZEN", 5.0, "the freezer")

    def thaw(self) -> None:
        if "freezer" not in self.paths:
            raise CgroupError("freezer cgroup not mounted")
        write(os.path.join(self.paths["freezer"], "freezer.state"), "THAWED")
        wait_until(lambda: self._freezer_state() == "THAWED", 5.0, "the freezer to thaw")

    def oom_killed(self) -> bool:
        mem = self.paths.get("memory")
        return bool(mem) and counter(os.path.join(mem, "memory.oom_control"), "oom_kill") > 0

    def usage(self) -> CgroupUsage:
        p = self.paths
        cpu, mem, pids = p.get("cpuacct", ""), p.get("memory", ""), p.get("pids", "")
        # USER_HZ ticks when the kernel lacks cpuacct.usage_user/_sys
        ticks = read_keyed(os.path.join(cpu, "cpuacct.stat"))
        tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        throttling = read_keyed(os.path.join(p.get("cpu", cpu), "cpu.stat"))
        try:
            percpu = [int(x) for x in read(os.path.join(cpu, "cpuacct.usage_percpu")).split()]
        except FileNotFoundError:
            raise CgroupError(f"cgroup {cpu} is gone") from None
        limit = read_int(os.path.join(mem, "memory.limit_in_bytes"))
        return CgroupUsage(
            cpu_total=read_int(os.path.join(cpu, "cpuacct.usage")),
            cpu_percpu=percpu,
            cpu_user=read_int(os.path.join(cpu, "cpuacct.usage_user"), ticks.get("user", 0) * tick_ns),
            cpu_system=read_int(os.path.join(cpu, "cpuacct.usage_sys"), ticks.get("system", 0) * tick_ns),
            throttle_periods=throttling.get("nr_periods", 0),
            throttled_periods=throttling.get("nr_throttled", 0),
            throttled_time=throttling.get("throttled_time", 0),
            memory_usage=read_int(os.path.join(mem, "memory.usage_in_bytes")),
            memory_max_usage=read_int(os.path.join(mem, "memory.max_usage_in_bytes")),
            memory_limit=0 if limit >= 1 << 62 else limit,   # "unlimited" is a huge page-aligned number
            memory_failcnt=read_int(os.path.join(mem, "memory.failcnt")),
            memory_stat=read_keyed(os.path.join(mem, "memory.stat")),
            pids=read_int(os.path.join(pids, "pids.current")) if pids else len(
                read_pids(os.path.join(cpu, "cgroup.procs"))))

    def destroy(self) -> None:
        procs = self.procs_files()

        def all_pids() -> set[int]:
            return {p for f in procs for p in read_pids(f)}

        def kill_and_check() -> bool:
            left = all_pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return not left

        if all_pids():
            # Kill them frozen, as one: killed one by one, a process could see a sibling
            # die and exit on its own (a shell's `wait` then exits 0, not 137). Frozen
            # tasks keep the SIGKILL pending and die as soon as they are thawed.
            frozen = self._freeze_for_kill()
            try:
                kill_and_check()
            finally:
                if "freezer" in self.paths and os.path.isdir(self.paths["freezer"]):
                    try:
                        write(os.path.join(self.paths["freezer"], "freezer.state"), "THAWED")
                    except OSError:
                        pass
            if not frozen:
                log.warning("cgroup %s: could not freeze it first; killed its processes one by one",
                            self._tracking_dir())
            wait_until(kill_and_check, 10.0, "the container's processes to die")
        for d in self._dirs():
            remove_dir(d)

    def _freeze_for_kill(self) -> bool:
        """Freeze every process (a paused container already is); False without a freezer
        or when a task will not freeze in time (then they are killed unfrozen)."""
        state = os.path.join(self.paths.get("freezer", ""), "freezer.state")
        if "freezer" not in self.paths or not os.path.exists(state):
            return False
        try:
            write(state, "FROZEN")
            wait_until(lambda: self._freezer_state() == "FROZEN", 2.0, "the freezer")
        except (CgroupError, OSError):
            return False
        return True

