"""Which request fields pyctr applies: one line per field of the Engine API v1.41
`ContainerConfig`, `HostConfig` and `EndpointSettings` (NetworkingConfig).

A create (or a start with a HostConfig, or an update) whose value sits in a field
marked `NotApplied` is refused with a 400 naming the field, before anything of the
container exists: accepting an option and doing nothing with it is the one answer
a client must never get. Empty values (null, "", 0, false, [], {} and objects or
lists made only of those) always pass: the docker CLI sends nearly every field,
empty, on every create.

Keys the v1.41 spec does not have: Docker ignores them (Go's JSON decoder drops
unknown keys). pyctr ignores them too when they are empty (docker CLI 28 sends
`GwPriority: 0` and `DNSNames: null` in each endpoint), but refuses one with a
value: a key unknown here is an option of a newer API (`HostConfig.Annotations`,
`EndpointSettings.GwPriority`...) that pyctr does not build, and dropping it would
be the silent ignore this table exists to prevent.

To build a field: apply it, then change its line to APPLIED (tests/api/
test_applied.py walks the spec, so a field missing here fails the suite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest


@dataclass(frozen=True)
class Applied:
    """pyctr honours the field (its values are checked where it is applied)."""
    note: str = ""


@dataclass(frozen=True)
class NotApplied:
    """pyctr does not apply the field: any value but an empty one (or one of `accept`,
    values that ask for what every pyctr container already is) is a 400."""
    why: str
    accept: tuple[Any, ...] = ()


APPLIED = Applied()

CONTAINER_CONFIG: dict[str, Applied | NotApplied] = {
    "Hostname": APPLIED,
    "Domainname": APPLIED,
    "User": APPLIED,
    "AttachStdin": APPLIED,
    "AttachStdout": APPLIED,
    "AttachStderr": APPLIED,
    "ExposedPorts": APPLIED,
    "Tty": APPLIED,
    "OpenStdin": APPLIED,
    "StdinOnce": APPLIED,
    "Env": APPLIED,
    "Cmd": APPLIED,
    "Healthcheck": Applied("daemon/health.py"),
    "ArgsEscaped": Applied("Windows only: no meaning on Linux, as in Docker"),
    "Image": APPLIED,
    "Volumes": APPLIED,
    "WorkingDir": APPLIED,
    "Entrypoint": APPLIED,
    "NetworkDisabled": Applied("the container gets NetworkMode none (create.py)"),
    "MacAddress": APPLIED,
    "OnBuild": APPLIED,
    "Labels": APPLIED,
    "StopSignal": APPLIED,
    "StopTimeout": APPLIED,
    "Shell": NotApplied("the shell form of a create's command is not built"),
    # Config fields of the API before 1.19, which Docker 1.2's clients send.
    "Memory": APPLIED,
    "MemorySwap": APPLIED,
    "CpuShares": APPLIED,
    "Cpuset": APPLIED,
    "PortSpecs": NotApplied("use ExposedPorts and HostConfig.PortBindings"),
}

HOST_CONFIG: dict[str, Applied | NotApplied] = {
    # Resources
    "CpuShares": APPLIED,
    "Memory": APPLIED,
    "CgroupParent": NotApplied("containers go under the daemon's --cgroup-parent"),
    "BlkioWeight": APPLIED,
    "BlkioWeightDevice": APPLIED,
    "BlkioDeviceReadBps": APPLIED,
    "BlkioDeviceWriteBps": APPLIED,
    "BlkioDeviceReadIOps": APPLIED,
    "BlkioDeviceWriteIOps": APPLIED,
    "CpuPeriod": APPLIED,
    "CpuQuota": APPLIED,
    "CpuRealtimePeriod": NotApplied("real-time CPU scheduling of cgroups is not built"),
    "CpuRealtimeRuntime": NotApplied("real-time CPU scheduling of cgroups is not built"),
    "CpusetCpus": APPLIED,
    "CpusetMems": APPLIED,
    "Devices": APPLIED,
    "DeviceCgroupRules": APPLIED,
    "DeviceRequests": NotApplied("device requests (GPUs) need a device plugin pyctr does not have"),
    "KernelMemory": NotApplied("kernel memory limits are deprecated by Linux (5.4) and absent "
                               "from cgroup v2; Docker 20.10 discards them too"),
    "KernelMemoryTCP": NotApplied("kernel TCP memory limits are absent from cgroup v2"),
    "MemoryReservation": APPLIED,
    "MemorySwap": APPLIED,
    "MemorySwappiness": Applied("-1 (what the docker CLI sends) is the default"),
    "NanoCpus": APPLIED,
    "OomKillDisable": APPLIED,
    "Init": Applied("tini, bound as /sbin/docker-init (daemon/init.py)"),
    "PidsLimit": APPLIED,
    "Ulimits": APPLIED,
    "CpuCount": NotApplied("Windows only"),
    "CpuPercent": NotApplied("Windows only"),
    "IOMaximumIOps": NotApplied("Windows only"),
    "IOMaximumBandwidth": NotApplied("Windows only"),
    # The rest of HostConfig
    "Binds": APPLIED,
    "ContainerIDFile": Applied("the client writes that file"),
    "LogConfig": APPLIED,
    "NetworkMode": APPLIED,
    "PortBindings": APPLIED,
    "RestartPolicy": APPLIED,
    "AutoRemove": APPLIED,
    "VolumeDriver": Applied("local is the one driver; another is a 400 at create"),
    "VolumesFrom": APPLIED,
    "Mounts": Applied("bind, volume and tmpfs (daemon/volumes.py)"),
    "CapAdd": APPLIED,
    "CapDrop": APPLIED,
    "CgroupnsMode": NotApplied("containers share the host's cgroup namespace", accept=("host",)),
    "Dns": APPLIED,
    "DnsOptions": APPLIED,
    "DnsSearch": APPLIED,
    "ExtraHosts": APPLIED,
    "GroupAdd": APPLIED,
    "IpcMode": APPLIED,
    "Cgroup": NotApplied("joining another container's cgroup is not built"),
    "Links": APPLIED,
    "OomScoreAdj": APPLIED,
    "PidMode": APPLIED,
    "Privileged": APPLIED,
    "PublishAllPorts": APPLIED,
    "ReadonlyRootfs": APPLIED,
    "SecurityOpt": APPLIED,
    "StorageOpt": NotApplied("per-container storage quotas are not built"),
    "Tmpfs": APPLIED,
    "UTSMode": APPLIED,
    "UsernsMode": NotApplied("user namespaces are not built", accept=("host",)),
    "ShmSize": APPLIED,
    "Sysctls": APPLIED,
    "Runtime": NotApplied("pyctr has one runtime, its own"),
    "ConsoleSize": Applied("the TTY's size before the command runs"),
    "Isolation": NotApplied("Windows only", accept=("default",)),
    "MaskedPaths": NotApplied("the masked paths are Docker's defaults and cannot be changed"),
    "ReadonlyPaths": NotApplied("the read-only paths are Docker's defaults and cannot be changed"),
}

ENDPOINT_SETTINGS: dict[str, Applied | NotApplied] = {
    "IPAMConfig": Applied("IPv4Address; IPv6Address and LinkLocalIPs are refused by the network code"),
    "Links": Applied("links on a user network are aliases"),
    "Aliases": APPLIED,
    "NetworkID": Applied("output only"),
    "EndpointID": Applied("output only"),
    "Gateway": Applied("output only"),
    "IPAddress": Applied("output only"),
    "IPPrefixLen": Applied("output only"),
    "IPv6Gateway": Applied("output only"),
    "GlobalIPv6Address": Applied("output only"),
    "GlobalIPv6PrefixLen": Applied("output only"),
    "MacAddress": Applied("the container's MAC address on that network (as Config.MacAddress)"),
    "DriverOpts": NotApplied("endpoint driver options are not built"),
}

# What `POST /containers/(id)/update` may change (Docker's UpdateConfig: Resources and
# RestartPolicy); the other HostConfig fields are not in an update's body.
UPDATABLE = frozenset({
    "CpuShares", "Memory", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems", "MemoryReservation",
    "MemorySwap", "NanoCpus", "PidsLimit", "BlkioWeight", "RestartPolicy", "KernelMemory",
})


def is_empty(value: Any) -> bool:
    """The values a client sends for "not set": null, "", 0, false, and lists or objects of those."""
    if value is None or value is False or value == "":
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, list):
        return all(is_empty(v) for v in value)
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    return False


def _check(table: dict[str, Applied | NotApplied], body: Any, where: str) -> None:
    if not isinstance(body, dict):
        return   # the codec answers for a body of the wrong type
    for key, value in body.items():
        if is_empty(value):
            continue
        rule = table.get(key)
        if rule is None:
            raise BadRequest(f"{where}.{key} is not supported by pyctr: it is not a field of "
                             "Engine API v1.41")
        if isinstance(rule, NotApplied) and value not in rule.accept:
            raise BadRequest(f"{where}.{key} is not supported by pyctr: {rule.why}")


def check_create(body: dict) -> None:
    """400 naming the first field of a create's body that pyctr would not apply."""
    _check(CONTAINER_CONFIG, {k: v for k, v in body.items()
                              if k not in ("HostConfig", "NetworkingConfig")}, "Config")
    check_host_config(body.get("HostConfig"))
    networking = body.get("NetworkingConfig")
    if isinstance(networking, dict):
        _check({"EndpointsConfig": APPLIED}, networking, "NetworkingConfig")
        endpoints = networking.get("EndpointsConfig")
        if isinstance(endpoints, dict):
            for name, endpoint in endpoints.items():
                _check(ENDPOINT_SETTINGS, endpoint, f"NetworkingConfig.EndpointsConfig.{name}")


def check_host_config(body: Any, where: str = "HostConfig") -> None:
    _check(HOST_CONFIG, body, where)


def check_update(body: Any) -> None:
    """An update's body: the updatable fields only, each applied."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if is_empty(value):
            continue
        if key not in UPDATABLE and key in HOST_CONFIG:
            raise BadRequest(f"{key} cannot be changed by an update: only resources and the "
                             "restart policy can")
    _check(HOST_CONFIG, body, "update")


# The one platform this pyctrd runs and builds, in the spellings clients send.
PLATFORMS = ("linux/amd64", "linux", "linux/x86_64", "amd64")


def check_platform(value: str, what: str) -> None:
    """A `platform` a client asks for (create, pull, import) is this pyctrd's own, or a
    400: pyctr runs no emulation and keeps no image of another platform."""
    if value and value.strip().lower() not in PLATFORMS:
        raise BadRequest(f"{what} for platform {value!r} is not supported: this pyctrd runs "
                         f"linux/amd64 only")
