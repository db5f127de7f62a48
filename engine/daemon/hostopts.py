"""The HostConfig options about namespaces, identity and kernel settings: PidMode,
IpcMode, UTSMode, UsernsMode, ShmSize, Sysctls, Ulimits, OomScoreAdj, GroupAdd,
ExtraHosts, DnsOptions.

`check` runs at create (a 400 with Docker's message, nothing made); `isolation` turns
them into the exec driver's Isolation at start, when the containers they name must
be running. `--ipc shareable` gets a /dev/shm the daemon mounts on the host side
(`shm.mount`), so that a `--ipc container:x` can bind the same one: a mount of the
other container's own mount namespace could not be bound across.
"""

from __future__ import annotations

import ipaddress
import os
import re
import resource
from typing import TYPE_CHECKING

from ..errors import BadRequest, NotFound
from ..execdriver.driver import Isolation, ProcessSettings
from ..networkdriver.netns import interface_sysctl
from ..api.config import ContainerConfig, HostConfig
from ..libcontainer import capabilities, syscalls

CAP_SYS_RESOURCE = 24

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon

DEFAULT_SHM_SIZE = 64 << 20
IPC_MODES = ("private", "shareable", "host")
# setrlimit's resources, by Docker's --ulimit names
ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
           "rss", "rtprio", "rttime", "sigpending", "stack", "as")
# The sysctls a container's own namespaces have (the docker CLI's list): IPC ones,
# and every net.* one when it has a network namespace of its own.
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
               "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
SYSCTL_NAME = re.compile(r"[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+")


def fill_defaults(host: HostConfig) -> None:
    """What Docker 20.10's inspect shows for options left out."""
    host.ipc_mode = host.ipc_mode or "private"
    host.shm_size = host.shm_size or DEFAULT_SHM_SIZE


def _joined(mode: str) -> str:
    return mode.split(":", 1)[1] if mode.startswith("container:") else ""


def check(daemon: Daemon, config: ContainerConfig, host: HostConfig) -> None:
    pid, ipc, uts = host.pid_mode, host.ipc_mode, host.uts_mode
    if pid not in ("", "host") and not _joined(pid):
        raise BadRequest(f"invalid PID mode: {pid}")
    if ipc not in ("",) + IPC_MODES and not _joined(ipc):
        raise BadRequest(f"invalid IPC mode: {ipc}")
    if uts not in ("", "host"):
        raise BadRequest(f"invalid UTS mode: {uts}")
    if host.userns_mode not in ("", "host"):
        raise BadRequest(f"HostConfig.UsernsMode is not supported by pyctr: user namespaces are "
                         f"not built (asked for {host.userns_mode!r})")
    for mode, kind in ((pid, "PID"), (ipc, "IPC")):
        name = _joined(mode)
        if name:
            try:
                daemon.lookup(name)
            except NotFound:   # a 400: a 404 from create makes the docker CLI pull the image
                raise BadRequest(f"cannot join the {kind} namespace of {name}: No such container: "
                                 f"{name}") from None
    if uts == "host" and config.hostname:
        raise BadRequest("Conflicting options: hostname and the UTS mode")
    if config.mac_address:
        if not MAC.fullmatch(config.mac_address):
            raise BadRequest(f"invalid MAC address: {config.mac_address}")
        if host.network_mode == "host" or host.network_mode.startswith("container:"):
            raise BadRequest("conflicting options: mac-address and the network mode")
    size = host.console_size
    if size is not None and size and (len(size) != 2 or min(size) < 0):
        raise BadRequest(f"invalid ConsoleSize {size}: [height, width] of the terminal")
    if host.shm_size < 0:
        raise BadRequest("SHM size can not be less than 0")
    if not -1000 <= host.oom_score_adj <= 1000:
        raise BadRequest(f"Invalid value {host.oom_score_adj}, range for oom score adj is [-1000, 1000]")
    if host.oom_score_adj < 0 and not _holds_sys_resource():
        # Lowering it needs CAP_SYS_RESOURCE, which the daemon cannot hand on when its own
        # bounding set lacks it (as here): refuse rather than fail at start.
        raise BadRequest(f"OomScoreAdj {host.oom_score_adj} cannot be applied: lowering an OOM "
                         "score needs CAP_SYS_RESOURCE, which this daemon does not hold")
    _check_ulimits(host)
    _check_sysctls(host)
    for entry in host.extra_hosts or []:
        parse_extra_host(entry)
    for group in host.group_add or []:
        if not group or ":" in group:
            raise BadRequest(f"invalid group {group!r} in GroupAdd: a group name or a numeric gid")


def _check_ulimits(host: HostConfig) -> None:
    seen = set()
    for u in host.ulimits or []:
        if u.name not in ULIMITS:
            raise BadRequest(f"invalid ulimit type: {u.name}")
        if u.name in seen:
            raise BadRequest(f"ulimit {u.name} is given twice")
        seen.add(u.name)
        if u.soft > u.hard:
            raise BadRequest(f"ulimit soft limit must be less than or equal to hard limit: "
                             f"{u.soft} > {u.hard}")
        if u.soft < -1 or u.hard < -1:
            raise BadRequest(f"invalid ulimit {u.name}: {u.soft}:{u.hard}")
        # No process here may raise a hard limit above its own (the host's bounding set
        # lacks CAP_SYS_RESOURCE): what the daemon cannot do is refused now.
        _, own_hard = resource.getrlimit(getattr(resource, "RLIMIT_" + u.name.upper()))
        wanted = resource.RLIM_INFINITY if u.hard == -1 else u.hard
        if own_hard != resource.RLIM_INFINITY and (wanted == resource.RLIM_INFINITY or wanted > own_hard) \
                and not _holds_sys_resource():
            raise BadRequest(f"ulimit {u.name}={u.soft}:{u.hard} cannot be applied: the hard "
                             f"limit is above the daemon's own ({own_hard}) and raising it needs "
                             "CAP_SYS_RESOURCE, which this daemon does not hold")


def _holds_sys_resource() -> bool:
    return bool(capabilities.held_by_self() >> CAP_SYS_RESOURCE & 1)


def _check_sysctls(host: HostConfig) -> None:
    net_shared = host.network_mode == "host" or host.network_mode.startswith("container:")
    ipc_shared = host.ipc_mode == "host" or bool(_joined(host.ipc_mode))
    for name, value in (host.sysctls or {}).items():
        if not SYSCTL_NAME.fullmatch(name) or ".." in name:
            raise BadRequest(f"invalid sysctl name {name!r}")
        if not isinstance(value, str):
            raise BadRequest(f"sysctl {name}: the value must be a string")
        if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if ipc_shared:
                raise BadRequest(f"sysctl {name!r} not allowed: the container shares its IPC namespace "
                                 f"({host.ipc_mode})")
        elif name.startswith("net."):
            if net_shared:
                raise BadRequest(f"sysctl {name!r} not allowed in host network namespace"
                                 if host.network_mode == "host" else
                                 f"sysctl {name!r} not allowed: the container shares the network "
                                 f"namespace of another ({host.network_mode})")
            if interface_sysctl(name):
                continue   # the container's interfaces are not the host's: checked at start
            if not os.path.exists("/proc/sys/" + name.replace(".", "/")):
                raise BadRequest(f"sysctl {name!r} is not known to this kernel")
        else:
            raise BadRequest(f"sysctl '{name}' is not whitelisted: only the IPC and network "
                             "sysctls of the container's own namespaces can be set")


def parse_extra_host(entry: str) -> tuple[str, str]:
    """ "name:ip" -> (ip, name); Docker's messages for bad ones."""
    name, sep, addr = entry.partition(":")
    if not sep or not name or not addr:
        raise BadRequest(f"invalid argument {entry!r} for ExtraHosts: bad format for add-host")
    if addr == "host-gateway":
        return addr, name
    try:
        ipaddress.ip_address(addr.strip("[]"))
    except ValueError:
        raise BadRequest(f"invalid IP address in add-host: {addr!r}") from None
    return addr.strip("[]"), name


def extra_hosts(host: HostConfig, gateway: str) -> list[tuple[str, str]]:
    """(address, name) lines for /etc/hosts; host-gateway is the bridge's address."""
    out = []
    for entry in host.extra_hosts or []:
        addr, name = parse_extra_host(entry)
        if addr == "host-gateway":
            if not gateway:
                raise BadRequest(f"add-host {entry!r}: host-gateway needs the daemon's bridge")
            addr = gateway
        out.append((addr, name))
    return out


def process_settings(host: HostConfig) -> ProcessSettings:
    """What the container's init and each of its execs get: --ulimit, --oom-score-adj,
    --group-add."""
    return ProcessSettings(ulimits=[(u.name, u.soft, u.hard) for u in host.ulimits or []],
                           oom_score_adj=host.oom_score_adj, group_add=list(host.group_add or []))


def isolation(daemon: Daemon, container: Container) -> Isolation:
    """At start: the namespaces to join (the containers named must run) and the settings."""
    host = container.record.host_config
    out = Isolation(shm_size=host.shm_size or DEFAULT_SHM_SIZE,
                    sysctls=sorted((k, v) for k, v in (host.sysctls or {}).items() if not interface_sysctl(k)),
                    process=process_settings(host), uts_host=host.uts_mode == "host")
    if host.pid_mode == "host":
        out.pid_host = True
    elif _joined(host.pid_mode):
        other = daemon.lookup(_joined(host.pid_mode))
        if not other.running:
            raise BadRequest(f"cannot join PID of a non running container: {other.id}")
        out.pid_join = other.record.state.pid
    if host.ipc_mode == "host":
        out.ipc_host = True
        out.shm_source = "/dev/shm"
    elif _joined(host.ipc_mode):
        other = daemon.lookup(_joined(host.ipc_mode))
        if not other.running:
            raise BadRequest(f"cannot join IPC of a non running container: {other.id}")
        if other.record.host_config.ipc_mode != "shareable":
            raise BadRequest("non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
        out.ipc_join = other.record.state.pid
        out.shm_source = shm_path(other)
    elif host.ipc_mode == "shareable":
        out.shm_source = shm_path(container)
    return out


# ---- the host-side /dev/shm of a shareable container --------------------------------

def shm_path(container: Container) -> str:
    return os.path.join(container.root, "shm")


def mount_shm(container: Container) -> None:
    """Before a shareable container starts: its /dev/shm, a tmpfs in the daemon's mount
    namespace (a blocking call: run it in a thread)."""
    path = shm_path(container)
    os.makedirs(path, 0o1777, exist_ok=True)
    if not os.path.ismount(path):
        size = container.record.host_config.shm_size or DEFAULT_SHM_SIZE
        syscalls.mount("shm", path, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC,
                       f"mode=1777,size={size}")


def unmount_shm(container: Container) -> None:
    path = shm_path(container)
    if os.path.ismount(path):
        syscalls.umount2(path, syscalls.MNT_DETACH)
    try:
        os.rmdir(path)
    except OSError:
        pass
