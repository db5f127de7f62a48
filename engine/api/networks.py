"""The wire model of user-defined networks (API 1.21+), defined once: what
`POST /networks/create` and `/connect` take, what a container's
`NetworkingConfig` and `NetworkSettings.Networks` hold, and the network record
that `GET /networks` and inspect answer with. The daemon persists the records
as they are (daemon/networks.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .codec import api


@dataclass
class IPAMPool:
    subnet: str = ""
    ip_range: str | None = api("IPRange", default=None, omit_none=True)
    gateway: str | None = api(default=None, omit_none=True)
    auxiliary_addresses: dict[str, str] | None = api(default=None, omit_none=True)


@dataclass
class IPAM:
    driver: str = "default"
    options: dict[str, str] | None = None
    config: list[IPAMPool] = field(default_factory=list)


@dataclass
class NetworkCreateRequest:
    name: str = ""
    check_duplicate: bool = False
    driver: str = "bridge"
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    enable_ipv6: bool = api("EnableIPv6", default=False)
    ipam: IPAM | None = api("IPAM", default=None)
    options: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    config_only: bool = False
    config_from: dict[str, str] | None = None
    scope: str = ""


@dataclass
class EndpointIPAMConfig:
    ipv4_address: str = api("IPv4Address", default="")
    ipv6_address: str = api("IPv6Address", default="")
    link_local_ips: list[str] | None = api("LinkLocalIPs", default=None)


@dataclass
class EndpointSettings:
    """One network of a container: what was asked (IPAMConfig, Links, Aliases, kept
    across stops) and what it holds while it runs (the rest)."""
    ipam_config: EndpointIPAMConfig | None = api("IPAMConfig", default=None)
    links: list[str] | None = None
    aliases: list[str] | None = None
    network_id: str = api("NetworkID", default="")
    endpoint_id: str = api("EndpointID", default="")
    gateway: str = ""
    ip_address: str = api("IPAddress", default="")
    ip_prefix_len: int = api("IPPrefixLen", default=0)
    ipv6_gateway: str = api("IPv6Gateway", default="")
    global_ipv6_address: str = api("GlobalIPv6Address", default="")
    global_ipv6_prefix_len: int = api("GlobalIPv6PrefixLen", default=0)
    mac_address: str = ""
    driver_opts: dict[str, str] | None = None

    def asked(self) -> "EndpointSettings":
        """Only what was asked: what stays while the container is not running."""
        return EndpointSettings(ipam_config=self.ipam_config, links=self.links, aliases=self.aliases,
                                network_id=self.network_id, driver_opts=self.driver_opts)


@dataclass
class NetworkingConfig:
    endpoints_config: dict[str, EndpointSettings] | None = None


@dataclass
class NetworkConnectRequest:
    container: str = ""
    endpoint_config: EndpointSettings | None = None


@dataclass
class NetworkDisconnectRequest:
    container: str = ""
    force: bool = False


@dataclass
class NetworkContainer:
    """A container on a network, as network inspect lists it."""
    name: str = ""
    endpoint_id: str = api("EndpointID", default="")
    mac_address: str = ""
    ipv4_address: str = api("IPv4Address", default="")
    ipv6_address: str = api("IPv6Address", default="")


@dataclass
class NetworkRecord:
    """A network as `GET /networks/(id)` shows it; `Containers` is filled per answer."""
    name: str
    id: str
    created: str = ""
    scope: str = "local"
    driver: str = "bridge"
    enable_ipv6: bool = api("EnableIPv6", default=False)
    ipam: IPAM = api("IPAM", default_factory=IPAM)
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    config_from: dict[str, str] = field(default_factory=lambda: {"Network": ""})
    config_only: bool = False
    containers: dict[str, NetworkContainer] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkCreated:
    id: str
    warning: str = ""


@dataclass
class NetworkPruneReport:
    networks_deleted: list[str] | None = None

