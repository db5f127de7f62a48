"""A container's resource limits, capabilities and devices, checked at create.

Everything that would otherwise fail at start (or be silently dropped) is
refused here with a 400, before anything of the container exists. What the
host cannot enforce is not an error: it comes back as a warning in create's
`Warnings`, as Docker's "Your kernel does not support ..." did.

Limits arrive in Config (Docker 1.2's clients) or HostConfig (today's clients,
even at API v1.14); `mirror` makes both say the same, so `inspect` shows them
where Docker 1.2 did (Config) and where later versions do (HostConfig).
"""

from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import dataclass

from ..errors import BadRequest
from ..execdriver import CAPABILITIES
from ..execdriver.driver import Resources
from ..libcontainer import capabilities as caps
from ..libcontainer import cgroups
from ..api.config import ContainerConfig, HostConfig

MIN_MEMORY = 4 * 1024 * 1024          # Docker 1.2's floor; the kernel takes less, uselessly
CPUSET_SYNTAX = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")
DEVICE_PERMISSIONS = re.compile(r"[rwm]{1,3}")


@dataclass(frozen=True)
class Limits:
    """The limits a container runs with: HostConfig's where set, else Config's."""
    memory: int = 0
    memory_swap: int = 0
    cpu_shares: int = 0
    cpuset: str = ""
    pids_limit: int = 0


def effective(config: ContainerConfig, host: HostConfig) -> Limits:
    return Limits(memory=host.memory or config.memory,
                  memory_swap=host.memory_swap or config.memory_swap,
                  cpu_shares=host.cpu_shares or config.cpu_shares,
                  cpuset=host.cpuset_cpus or config.cpuset,
                  pids_limit=max(host.pids_limit or 0, 0))


def mirror(config: ContainerConfig, host: HostConfig) -> None:
    limits = effective(config, host)
    config.memory = host.memory = limits.memory
    config.memory_swap = host.memory_swap = limits.memory_swap
    config.cpu_shares = host.cpu_shares = limits.cpu_shares
    config.cpuset = host.cpuset_cpus = limits.cpuset
    host.pids_limit = limits.pids_limit


@functools.lru_cache(maxsize=1)
def host_support() -> cgroups.HostSupport:
    return cgroups.host_support()


def check(config: ContainerConfig, host: HostConfig) -> list[str]:
    """400 on bad limits, capabilities or devices; warnings for what the host cannot do."""
    limits = effective(config, host)
    support = host_support()
    warnings = _check_memory(limits, support)
    warnings += check_resources(host, support, limits.memory)
    if limits.cpu_shares < 0:
        raise BadRequest(f"Invalid CPU shares: {limits.cpu_shares} (must not be negative)")
    if limits.cpu_shares and not support.cpu_shares:
        warnings.append("Your kernel does not support CPU shares. Shares discarded.")
    if limits.cpuset:
        _check_cpuset(limits.cpuset, support)
    if limits.pids_limit and not support.pids:
        warnings.append("Your kernel does not support pids limit capabilities. Limitation discarded.")
    check_capabilities(host.cap_add or [], host.cap_drop or [])
    for device in host.devices or []:
        check_device(device.path_on_host, device.path_in_container, device.cgroup_permissions)
    if host.privileged:
        warnings += _privileged_warnings()
    return warnings


def _check_memory(limits: Limits, support: cgroups.HostSupport) -> list[str]:
    warnings = []
    if limits.memory < 0:
        raise BadRequest(f"Invalid memory limit: {limits.memory}")
    if 0 < limits.memory < MIN_MEMORY:
        raise BadRequest("Minimum memory limit allowed is 4MB")
    if limits.memory_swap < -1:
        raise BadRequest(f"Invalid memory+swap limit: {limits.memory_swap} (-1 means unlimited)")
    if limits.memory_swap > 0:
        if not limits.memory:
            raise BadRequest("You should always set the Memory limit when using Memoryswap limit")
        if limits.memory_swap < limits.memory:
            raise BadRequest("Minimum memoryswap limit should be larger than memory limit, see usage.")
    if limits.memory and not support.memory:
        warnings.append("Your kernel does not support memory limit capabilities. Limitation discarded.")
    elif limits.memory and not support.swap:
        warnings.append("Your kernel does not support swap limit capabilities, memory limited without swap.")
    elif limits.memory_swap > limits.memory and not _host_has_swap():
        warnings.append("The host has no swap: the memory+swap limit works as the memory limit.")
    return warnings


MIN_RESERVATION = 6 * 1024 * 1024    # Docker 20.10's linuxMinMemory
CGROUP_RULE = re.compile(r"([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})")


def check_resources(host: HostConfig, support: cgroups.HostSupport, memory: int) -> list[str]:
    """The resources of API 1.19-1.41 beyond Docker 1.2's, with Docker 20.10's messages;
    also for an update (then `memory` is the limit the container will have)."""
    warnings = []
    if host.memory_reservation:
        if host.memory_reservation < 0:
            raise BadRequest(f"Invalid memory reservation: {host.memory_reservation}")
        if host.memory_reservation < MIN_RESERVATION:
            raise BadRequest("Minimum memory reservation allowed is 6MB")
        if memory and memory < host.memory_reservation:
            raise BadRequest("Minimum memory limit can not be less than memory reservation limit, see usage")
        if not support.memory_reservation:
            raise BadRequest("HostConfig.MemoryReservation cannot be applied: this host's cgroups "
                             "have no memory reservation")
    swappiness = host.memory_swappiness
    if swappiness is not None and swappiness != -1:
        if not 0 <= swappiness <= 100:
            raise BadRequest(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
        if not support.swappiness:
            raise BadRequest("HostConfig.MemorySwappiness cannot be applied: cgroup v2 has no "
                             "per-container swappiness")
    if host.oom_kill_disable:
        if not support.oom_kill_disable:
            raise BadRequest("HostConfig.OomKillDisable cannot be applied: cgroup v2 cannot turn "
                             "the OOM killer off")
        if not memory:
            warnings.append("OOM killer is disabled for the container, but no memory limit is set, "
                            "this can result in the system running out of resources.")
    if host.kernel_memory:
        raise BadRequest("HostConfig.KernelMemory is not supported by pyctr: kernel memory limits are "
                         "deprecated by Linux (5.4) and absent from cgroup v2; Docker 20.10 discards them too")
    warnings += _check_cpu(host, support)
    if host.cpuset_mems:
        if not CPUSET_SYNTAX.fullmatch(host.cpuset_mems):
            raise BadRequest(f"Invalid value {host.cpuset_mems} for cpuset mems")
        missing = cgroups.parse_cpu_list(host.cpuset_mems) - support.mems
        if missing:
            available = ",".join(str(m) for m in sorted(support.mems))
            raise BadRequest(f"Requested memory nodes are not available - requested "
                             f"{host.cpuset_mems}, available: {available}")
    _check_blkio(host, support)
    for rule in host.device_cgroup_rules or []:
        if not CGROUP_RULE.fullmatch(rule):
            raise BadRequest(f"invalid device cgroup format '{rule}'")
    return warnings


def _check_cpu(host: HostConfig, support: cgroups.HostSupport) -> list[str]:
    if host.nano_cpus:
        if host.cpu_period:
            raise BadRequest("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        if host.cpu_quota:
            raise BadRequest("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        count = len(support.cpus) or os.cpu_count() or 1
        if host.nano_cpus < 0 or host.nano_cpus > count * 10**9:
            raise BadRequest(f"Range of CPUs is from 0.01 to {count}.00, as there are only "
                             f"{count} CPUs available")
    if host.cpu_period and not 1000 <= host.cpu_period <= 1000000:
        raise BadRequest("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                         "(i.e. 1000000)")
    if host.cpu_quota and 0 < host.cpu_quota < 1000:
        raise BadRequest("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if (host.nano_cpus or host.cpu_period or host.cpu_quota) and not support.cpu_cfs:
        raise BadRequest("NanoCpus/CpuPeriod/CpuQuota cannot be applied: this host's cgroups have "
                         "no CFS bandwidth control")
    return []


def _check_blkio(host: HostConfig, support: cgroups.HostSupport) -> None:
    if host.blkio_weight and not 10 <= host.blkio_weight <= 1000:
        raise BadRequest("Range of blkio weight is from 10 to 1000")
    if host.blkio_weight and not support.blkio_weight:
        raise BadRequest("HostConfig.BlkioWeight cannot be applied: this host's block I/O "
                         "scheduler has no weights")
    for dev in host.blkio_weight_device or []:
        if not 10 <= dev.weight <= 1000:
            raise BadRequest("Range of blkio weight is from 10 to 1000")
        block_device(dev.path, "BlkioWeightDevice")
        if not support.blkio_weight_device:
            raise BadRequest("HostConfig.BlkioWeightDevice cannot be applied: this host's block I/O "
                             "scheduler has no weights")
    for field, devices in (("BlkioDeviceReadBps", host.blkio_device_read_bps),
                           ("BlkioDeviceWriteBps", host.blkio_device_write_bps),
                           ("BlkioDeviceReadIOps", host.blkio_device_read_iops),
                           ("BlkioDeviceWriteIOps", host.blkio_device_write_iops)):
        for dev in devices or []:
            if dev.rate < 0:
                raise BadRequest(f"{field}: invalid rate {dev.rate} for {dev.path}")
            block_device(dev.path, field)
            if not support.blkio_throttle:
                raise BadRequest(f"HostConfig.{field} cannot be applied: this host's cgroups have "
                                 "no block I/O throttling")


def block_device(path: str, field: str) -> None:
    try:
        st = os.stat(path)
    except OSError as e:
        raise BadRequest(f"{field}: error gathering device information for {path!r}: "
                         f"{(e.strerror or str(e)).lower()}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise BadRequest(f"{field}: {path!r} is not a block device")


def resources(config: ContainerConfig, host: HostConfig) -> Resources:
    """The exec driver's Resources of a container: HostConfig's, else Config's (Docker 1.2)."""
    limits = effective(config, host)
    period, quota = host.cpu_period, host.cpu_quota
    if host.nano_cpus:   # --cpus: a quota over the default 100 ms period, as Docker
        period, quota = 100000, host.nano_cpus * 100000 // 10**9
    swappiness = host.memory_swappiness if host.memory_swappiness is not None else -1
    return Resources(
        memory=limits.memory, memory_swap=limits.memory_swap, cpu_shares=limits.cpu_shares,
        cpuset=limits.cpuset, pids_limit=limits.pids_limit,
        memory_reservation=host.memory_reservation, memory_swappiness=swappiness,
        oom_kill_disable=host.oom_kill_disable, cpu_period=period, cpu_quota=quota,
        cpuset_mems=host.cpuset_mems, blkio_weight=host.blkio_weight,
        blkio_weight_devices=[(d.path, d.weight) for d in host.blkio_weight_device or []],
        read_bps=[(d.path, d.rate) for d in host.blkio_device_read_bps or []],
        write_bps=[(d.path, d.rate) for d in host.blkio_device_write_bps or []],
        read_iops=[(d.path, d.rate) for d in host.blkio_device_read_iops or []],
        write_iops=[(d.path, d.rate) for d in host.blkio_device_write_iops or []])


def device_rules(host: HostConfig) -> list[tuple[str, int, int, str]]:
    """--device-cgroup-rule lines as (kind, major, minor, access), -1 for "*"."""
    out = []
    for rule in host.device_cgroup_rules or []:
        m = CGROUP_RULE.fullmatch(rule)
        if m is None:
            raise BadRequest(f"invalid device cgroup format '{rule}'")
        num = lambda v: -1 if v == "*" else int(v)  # noqa: E731
        out.append((m[1], num(m[2]), num(m[3]), m[4]))
    return out


def _host_has_swap() -> bool:
    try:
        with open("/proc/swaps") as f:
            return len(f.read().splitlines()) > 1
    except OSError:
        return False


def _check_cpuset(cpuset: str, support: cgroups.HostSupport) -> None:
    if not CPUSET_SYNTAX.fullmatch(cpuset):
        raise BadRequest(f"Invalid cpuset: {cpuset}")
    try:
        wanted = cgroups.parse_cpu_list(cpuset)
    except ValueError:
        raise BadRequest(f"Invalid cpuset: {cpuset}") from None
    missing = wanted - support.cpus
    if missing:
        available = ",".join(str(c) for c in sorted(support.cpus))
        raise BadRequest(f"Requested CPUs are not available - requested {cpuset}, available: {available}")
    if not support.cpuset:
        raise BadRequest("Your kernel does not support cpuset: --cpuset cannot be applied")


def check_capabilities(add: list[str], drop: list[str]) -> None:
    for name in add + drop:
        key = name.upper().removeprefix("CAP_")
        if key != "ALL" and key not in CAPABILITIES:
            raise BadRequest(f"Unknown capability: {name}")


def check_device(path_on_host: str, path_in_container: str, permissions: str) -> None:
    try:
        st = os.stat(path_on_host)
    except OSError as e:
        raise BadRequest(f"error gathering device information while adding custom device "
                         f"\"{path_on_host}\": {e.strerror.lower()}") from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise BadRequest(f"error gathering device information while adding custom device "
                         f"\"{path_on_host}\": not a device node")
    if path_in_container and not path_in_container.startswith("/"):
        raise BadRequest(f"Invalid device path in the container: {path_in_container} (must be absolute)")
    if permissions and (not DEVICE_PERMISSIONS.fullmatch(permissions)
                        or len(set(permissions)) != len(permissions)):
        raise BadRequest(f"Invalid device permissions: {permissions!r} (a combination of r, w and m)")


def _privileged_warnings() -> list[str]:
    held = caps.held_by_self()
    missing = [c for c in range(caps.last_cap() + 1) if not held >> c & 1]
    if not missing:
        return []
    names = ", ".join("CAP_" + n for n in caps.names_of(caps.mask(missing)))
    return [f"The daemon does not hold {names}: the privileged container will not have it either."]
