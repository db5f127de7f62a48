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
