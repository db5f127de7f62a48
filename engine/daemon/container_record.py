"""A container as the daemon persists it and `GET /containers/(id)/json` shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.codec import api, to_api
from ..api.config import ContainerConfig, HostConfig
from ..api.networks import EndpointSettings

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class HealthResult:
    """One probe of a healthcheck (daemon/health.py runs them)."""
    start: str = ""
    end: str = ""
    exit_code: int = 0
    output: str = ""


@dataclass
class Health:
    """State.Health: starting, healthy or unhealthy, and the last probes."""
    status: str = "starting"
    failing_streak: int = 0
    log: list[HealthResult] = field(default_factory=list)


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
    health: Health | None = api(omit_none=True, since="1.24", default=None)   # with a healthcheck only

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
    # The user-defined networks the container is on (API 1.21+), by name: what was asked
    # (kept while it is stopped) and, while it runs, its address on each.
    networks: dict[str, EndpointSettings] | None = None


@dataclass
class MountPoint:
    """One thing mounted in the container, decided at create (daemon/mountpoints.py)."""
    type: str                   # bind, volume, tmpfs
    destination: str
    source: str = ""            # bind: the host path; volume: its mountpoint
    name: str = ""              # volume: its name
    driver: str = ""            # volume: its driver
    mode: str = ""              # as asked: "ro", "z", "rw,rshared", ...
    rw: bool = True
    propagation: str = ""       # bind: rprivate unless asked
    anonymous: bool = False     # volume: made for this container (no name given); `rm -v` removes it
    copy_data: bool = True      # volume: seeded from the image's content while empty (not nocopy)
    tmpfs_options: str = ""     # tmpfs: mount(8) words (size=16m,mode=1777,exec)
    listed: bool = True         # shown in `Mounts` (a HostConfig.Tmpfs entry is not, as in Docker)


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
    mount_points: list[MountPoint] = field(default_factory=list)   # not in inspect: `Mounts` shows them
    restart_count: int = 0
    log_path: str = ""
    # Stopped by the user (stop, kill), not by the daemon's shutdown: `unless-stopped`
    # then stays down across daemon restarts. Kept on disk, not shown (as Docker).
    has_been_manually_stopped: bool = False


def mounts(record: ContainerRecord) -> list[dict[str, Any]]:
    """`Mounts` (API 1.20+) from the record's mount points, as dockerd shows them."""
    out = []
    for m in sorted(record.mount_points, key=lambda m: m.destination):
        if not m.listed:
            continue
        shown: dict[str, Any] = {"Type": m.type}
        if m.type == "volume":
            shown["Name"] = m.name
        shown.update({"Source": m.source, "Destination": m.destination})
        if m.type == "volume":
            shown["Driver"] = m.driver
        shown.update({"Mode": m.mode, "RW": m.rw, "Propagation": m.propagation})
        out.append(shown)
    return out


def networks(settings: NetworkSettings, mode: str, predefined: dict[str, str] | None = None) -> dict[str, Any]:
    """`NetworkSettings.Networks` (API 1.21+): the predefined network of its --net (unless
    that is a user-defined one) and every user-defined network it is on."""
    out: dict[str, Any] = {}
    if mode.startswith("container:"):
        return out  # it is on the other container's network
    name = mode if mode in ("none", "host") else "bridge" if mode in ("", "default", "bridge") else ""
    if name:
        out[name] = {"IPAMConfig": None, "Links": None, "Aliases": None,
                     "NetworkID": (predefined or {}).get(name, ""), "EndpointID": "",
                     "Gateway": settings.gateway, "IPAddress": settings.ip_address,
                     "IPPrefixLen": settings.ip_prefix_len, "IPv6Gateway": "", "GlobalIPv6Address": "",
                     "GlobalIPv6PrefixLen": 0, "MacAddress": settings.mac_address, "DriverOpts": None}
    for net_name, endpoint in (settings.networks or {}).items():
        out[net_name] = to_api(endpoint)
    return out
