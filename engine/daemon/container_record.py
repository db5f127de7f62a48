"""A container as the daemon persists it and `GET /containers/(id)/json` shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.codec import api
from ..api.config import ContainerConfig, HostConfig

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class State:
    running: bool = False
    paused: bool = False
    restarting: bool = False
    pid: int = 0
    exit_code: int = 0
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    oom_killed: bool = api("OOMKilled", default=False)
    error: str = ""

    @property
    def status(self) -> str:
        """One word, as `State.Status` (API 1.21+) and the `status` filter have it."""
        if self.paused:
            return "paused"
        if self.restarting:
            return "restarting"
        if self.running:
            return "running"
        return "created" if self.finished_at == ZERO_TIME else "exited"


@dataclass
class NetworkSettings:
    ip_address: str = api("IPAddress", default="")
    ip_prefix_len: int = api("IPPrefixLen", default=0)
    mac_address: str = ""
    gateway: str = ""
    bridge: str = ""
    port_mapping: Any = None
    ports: dict[str, Any] | None = None


@dataclass
class ContainerRecord:
    id: str
    created: str = ""
    path: str = ""
    args: list[str] = field(default_factory=list)
    config: ContainerConfig = field(default_factory=ContainerConfig)
    state: State = field(default_factory=State)
    image: str = ""
    network_settings: NetworkSettings = field(default_factory=NetworkSettings)
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    name: str = ""                     # with the leading "/", as Docker shows it
    driver: str = ""
    exec_driver: str = ""
    mount_label: str = ""
    process_label: str = ""
    volumes: dict[str, str] = field(default_factory=dict)       # container path -> host path
    volumes_rw: dict[str, bool] = api("VolumesRW", default_factory=dict)
    host_config: HostConfig = field(default_factory=HostConfig)
    restart_count: int = 0
    log_path: str = ""


def mounts(record: ContainerRecord) -> list[dict[str, Any]]:
    """`Mounts` (API 1.20+) from the record's volumes."""
    return [{"Source": source, "Destination": dest, "Mode": "" if record.volumes_rw.get(dest, True) else "ro",
             "RW": record.volumes_rw.get(dest, True), "Propagation": "rprivate"}
            for dest, source in sorted(record.volumes.items())]


def networks(settings: NetworkSettings, mode: str) -> dict[str, Any]:
    """`NetworkSettings.Networks` (API 1.21+): the one network a 1.2 container is on."""
    if mode.startswith("container:"):
        return {}  # it is on the other container's network
    name = mode if mode in ("none", "host") else "bridge"
    return {name: {"IPAddress": settings.ip_address, "IPPrefixLen": settings.ip_prefix_len,
                   "Gateway": settings.gateway, "MacAddress": settings.mac_address,
                   "NetworkID": "", "EndpointID": "", "IPv6Gateway": "", "GlobalIPv6Address": "",
                   "GlobalIPv6PrefixLen": 0}}
