"""What the daemon does about networking for each container (Docker 1.2's
allocateNetwork / releaseNetwork / links), on top of the drivers in engine/networkdriver
(driver.py: a network per driver, one endpoint per running container on it):

  create   validate port specs, --net and --link; record links as graph-DB edges
  start    allocate an address and the published ports (host port, DNAT rules,
           userland proxy), the link rules, env and /etc/hosts entries: all or none
  created  (the exec driver's on_created hook) the veth pair into the container
  exit     release all of it; NetworkSettings is emptied as Docker 1.2 did (but for
           what the container asked of its user-defined networks: aliases, --ip, links)

User-defined networks (daemon/networks.py) are bridge driver instances too: a container
whose --net names one gets its eth0 there, each other user network it is connected to
an ethN without a default route, and the embedded DNS server (networkdriver/dns.py) a
socket in its namespace.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import BadRequest, Conflict, NotFound, ServerError
from ..execdriver.driver import ExecError
from ..networkdriver.bridge import BridgeConfig, BridgeNetwork
from ..networkdriver.container import ContainerNetwork
from ..networkdriver.driver import (Endpoint, EndpointRequest, LinkPeer, Network, NetworkError,
                                    NetworkSetupError, PortBinding, PortSpec)
from ..networkdriver.host import HostNetwork
from ..networkdriver.ipam import AddressError
from ..networkdriver.netlink import nameservers
from ..networkdriver.iptables import IptablesError
from ..networkdriver.none import NoneNetwork
from ..networkdriver.portallocator import PortError, PortInUse
from ..api.config import ContainerConfig, HostConfig
from ..api.networks import EndpointSettings
from ..graph.graph import new_id
from ..networkdriver import iptables as iptables_mod
from ..networkdriver.netns import in_netns, interface_sysctl
from .config import DaemonConfig
from .container import Container
from .container_record import NetworkSettings
from .networks import UserNetwork, UserNetworks, isolation_chain

if TYPE_CHECKING:
    from ..networkdriver import dns

log = logging.getLogger("pyctr.network")

BRIDGE_MODES = ("", "default", "bridge")


async def _embedded_dns() -> ModuleType:
    """networkdriver/dns.py, imported (in a thread) by the first container that needs it:
    dnspython is about 1 MiB of memory that a daemon without user-defined networks never
    needs."""
    global _dns_module
    # Not sys.modules: while the thread imports it, that holds the half-made module, and
    # a second container starting at the same time (compose --scale) found no Listener.
    if _dns_module is None:
        async with _dns_import:
            if _dns_module is None:
                _dns_module = await asyncio.to_thread(importlib.import_module, _DNS_MODULE)
    return _dns_module


_DNS_MODULE = f"{__package__.rsplit('.', 1)[0]}.networkdriver.dns"
_dns_module: ModuleType | None = None
_dns_import = asyncio.Lock()


def parse_port_key(key: str) -> PortSpec:
    """"8080/tcp" (or "8080") -> PortSpec; BadRequest otherwise."""
    text, _, proto = str(key).partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp"):
        raise BadRequest(f"Invalid proto: {proto} (in port {key})")
    if not text.isdigit() or not 0 < int(text) <= 65535:
        raise BadRequest(f"Invalid port: {key}")
    return PortSpec(int(text), proto)


@dataclass
class LinkSpec:
    name: str      # the child, as given
    alias: str


def parse_link(text: str) -> LinkSpec:
    """"name:alias" (or "name", or the "/db:/web/db" form inspect shows) -> LinkSpec."""
    name, sep, alias = str(text).partition(":")
    alias = alias.rsplit("/", 1)[-1] if sep else name.strip("/")
    name = name.strip("/")
    if not name or not alias or ":" in alias:
        raise BadRequest(f"Invalid link: {text!r} (use name:alias)")
    from .names import VALID_NAME
    if not VALID_NAME.match(alias) or not VALID_NAME.match(name):
        raise BadRequest(f"Invalid link: {text!r}: names may only hold [a-zA-Z0-9_.-]")
    return LinkSpec(name, alias)


def validate(config: ContainerConfig, host: HostConfig) -> None:
    """Create-time checks of everything network-shaped in the request (no daemon state)."""
    mode = host.network_mode or ""
    if mode.startswith("container:") and not mode.split(":", 1)[1]:
        raise BadRequest("Invalid network mode: container: needs a name or id (container:<name|id>)")
    for key in config.exposed_ports or {}:
        parse_port_key(key)
    for key, bindings in (host.port_bindings or {}).items():
        parse_port_key(key)
        for binding in bindings or []:
            if binding.host_ip:
                try:
                    ip = ipaddress.ip_address(binding.host_ip)
                except ValueError:
                    raise BadRequest(f"Invalid host ip {binding.host_ip!r} for port {key}") from None
                if ip.version != 4:
                    raise BadRequest(f"Invalid host ip {binding.host_ip!r} for port {key}: only IPv4")
            if binding.host_port and (not str(binding.host_port).isdigit()
                                      or not 0 < int(binding.host_port) <= 65535):
                raise BadRequest(f"Invalid hostPort: {binding.host_port} (for port {key})")
    links = [parse_link(l) for l in host.links or []]
    if links and (mode == "host" or mode.startswith("container:")):
        raise BadRequest(f"Conflicting options: --net={mode} can't be used with links")
    aliases = [l.alias for l in links]
    for alias in aliases:
        if aliases.count(alias) > 1:
            raise BadRequest(f"Invalid links: the alias {alias!r} is given twice")
    for server in host.dns or []:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise BadRequest(f"Invalid --dns {server!r}: not an IP address") from None


# --- links (graph-DB edges) --------------------------------------------------

def resolve_links(daemon, host: HostConfig, parent_id: str = "") -> list[tuple[Container, str]]:
    """The (child, alias) pairs a request asks for; each child must exist."""
    out = []
    for spec in (parse_link(l) for l in host.links or []):
        try:
            child = daemon.lookup(spec.name)
        except NotFound:
            raise NotFound(f"Could not get container for {spec.name}") from None
        if child.id == parent_id:
            raise BadRequest(f"Cannot link container {spec.name} to itself")
        out.append((child, spec.alias))
    return out


def register_links(daemon, parent: Container, links: list[tuple[Container, str]]) -> None:
    """Record the links as edges (an alias already linked is pointed at the new child)."""
    db = daemon.graph.db
    with db.transaction():
        existing = dict((alias, child) for child, alias in db.links_of(parent.id))
        for child, alias in links:
            if existing.get(alias) == child.id:
                continue
            if alias in existing:
                db.remove_link(parent.id, alias)
            db.add_link(parent.id, child.id, alias)
    sync_link_record(daemon, parent)


def sync_link_record(daemon, parent: Container) -> None:
    """HostConfig.Links in the record as Docker 1.2's inspect showed it: "/db:/web/db"."""
    names = {c.id: c.name for c in daemon.containers.values()}
    links = [f"{names[child]}:{parent.name}/{alias}"
             for child, alias in daemon.graph.db.links_of(parent.id) if child in names]
    parent.record.host_config.links = links or None


def link_env(parent_name: str, alias: str, child: Container, ip: str) -> list[str]:
    """Docker 1.2's link variables: ALIAS_PORT..., ALIAS_NAME, ALIAS_ENV_..."""
    prefix = alias.upper().replace("-", "_")
    ports = sorted((parse_port_key(k) for k in child.record.config.exposed_ports or {}),
                   key=lambda p: (p.port, p.proto != "tcp"))
    env = []
    if ports:
        env.append(f"{prefix}_PORT={ports[0].proto}://{ip}:{ports[0].port}")
    for p in ports:
        base = f"{prefix}_PORT_{p.port}_{p.proto.upper()}"
        env += [f"{base}={p.proto}://{ip}:{p.port}", f"{base}_ADDR={ip}",
                f"{base}_PORT={p.port}", f"{base}_PROTO={p.proto}"]
    env.append(f"{prefix}_NAME={parent_name}/{alias}")
    for item in child.record.config.env or []:
        key, sep, value = item.partition("=")
        if sep and key not in ("HOME", "PATH"):
            env.append(f"{prefix}_ENV_{key}={value}")
    return env


# --- per container -------------------------------------------------------------

@dataclass
class Prepared:
    """What start needs from the network besides the namespace: env and /etc/hosts."""
    ip: str = ""
    env: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    bridge: bool = False        # the container gets a veth in on_created
    embedded_dns: bool = False  # on a user-defined network: resolv.conf names 127.0.0.11


def stopped_settings(settings: NetworkSettings) -> NetworkSettings:
    """A stopped container's NetworkSettings: only what it asked of its user networks."""
    asked = settings.networks
    return NetworkSettings(networks={name: each.asked() for name, each in asked.items()} if asked else None)


def _asked_ip(record, user: UserNetwork) -> IPv4Address | None:
    settings = (record.network_settings.networks or {}).get(user.record.name)
    if settings is None or settings.ipam_config is None or not settings.ipam_config.ipv4_address:
        return None
    return IPv4Address(settings.ipam_config.ipv4_address)


def _fill(network_settings: NetworkSettings, user: UserNetwork | None, endpoint: Endpoint) -> None:
    """The container's EndpointSettings on `user`, with what the endpoint holds."""
    if user is None:
        return
    networks = network_settings.networks = dict(network_settings.networks or {})
    asked = networks.get(user.record.name) or EndpointSettings()
    # Docker adds the container's short id to its aliases on each user network (compose
    # looks for it to tell whether a container is connected as it wants).
    aliases = list(asked.aliases or [])
    if endpoint.id[:12] not in aliases:
        aliases.append(endpoint.id[:12])
    networks[user.record.name] = EndpointSettings(
        ipam_config=asked.ipam_config, links=asked.links, aliases=aliases,
        network_id=user.record.id, endpoint_id=asked.endpoint_id or new_id(),
        gateway=str(endpoint.gateway),
        ip_address=str(endpoint.ip), ip_prefix_len=endpoint.prefix_len, mac_address=endpoint.mac,
        driver_opts=asked.driver_opts)


def _address_status(exc: Exception):
    if isinstance(exc, PortInUse):
        return Conflict
    if isinstance(exc, AddressError) and "in use" in str(exc):
        return Conflict
    return ServerError


def bridge_config(config: DaemonConfig) -> BridgeConfig:
    return BridgeConfig(name=config.bridge, bip=config.bip, fixed_cidr=config.fixed_cidr, mtu=config.mtu,
                        ip_forward=config.ip_forward, iptables=config.iptables, icc=config.icc,
                        ip_masq=config.ip_masq, userland_proxy=config.userland_proxy,
                        state_dir=config.exec_root,
                        isolation_chain=isolation_chain(config) if config.iptables else "")


class DaemonNetwork:
    """The networks of one daemon (its bridge, or none with --bridge=none; host, none and
    container:; the user-defined ones) and which of them each running container's
    endpoints are on: the one of its --net (`endpoints`) and the user-defined networks
    it is also connected to (`extra`), with the embedded DNS server of containers whose
    --net is a user-defined network (`resolvers`)."""

    def __init__(self, config: DaemonConfig, bridge: BridgeNetwork | None = None) -> None:
        self.config = config
        self.bridge = bridge
        self.host, self.none, self.shared = HostNetwork(), NoneNetwork(), ContainerNetwork()
        self.endpoints: dict[str, tuple[Network, Endpoint]] = {}
        self.user = UserNetworks(config, isolation_chain(config))
        self.extra: dict[str, dict[str, tuple[BridgeNetwork, Endpoint]]] = {}   # id -> name -> endpoint
        self.resolvers: dict[str, dns.Listener] = {}
        self.containers: dict[str, Container] = {}   # the daemon's, for the DNS server's names

    @property
    def enabled(self) -> bool:
        return self.bridge is not None

    def networks(self) -> list[Network]:
        return [n for n in (self.bridge, self.host, self.none, self.shared) if n is not None]

    # --- daemon life cycle ---------------------------------------------------
    @classmethod
    async def open(cls, config: DaemonConfig) -> "DaemonNetwork":
        bridge = None
        if config.bridge == "none":
            if config.bip or config.fixed_cidr:
                raise NetworkSetupError("--bip and --fixed-cidr make no sense with --bridge=none")
        else:
            bridge = BridgeNetwork(bridge_config(config))
        network = cls(config, bridge)
        if config.iptables and iptables_mod.available():   # before any bridge adds its line
            await iptables_mod.ensure_chain("filter", network.user.isolation)
        opened = []
        try:
            for each in network.networks():
                await each.open()
                opened.append(each)
            await network.user.open()
        except BaseException:
            for each in reversed(opened):
                await each.shutdown()
            await network._drop_isolation_chain_if_empty()   # a refused start leaves no chain
            raise
        return network

    async def _drop_isolation_chain_if_empty(self) -> None:
        """Kept while it has lines: bridges of containers a live restore may still adopt."""
        if not (self.config.iptables and iptables_mod.available()):
            return
        try:
            if not await iptables_mod.rules_in("filter", self.user.isolation):
                await iptables_mod.drop_chain("filter", self.user.isolation)
        except iptables_mod.IptablesError as exc:
            log.error("removing %s: %s", self.user.isolation, exc)

    async def shutdown(self) -> None:
        """Every endpoint released, then each network taken down (the bridge's rules,
        chains, and the bridge if we made it)."""
        self._close_resolvers()
        self.endpoints.clear()
        self.extra.clear()
        await self.user.shutdown()
        for each in self.networks():
            await each.shutdown()
        if self.config.iptables and iptables_mod.available():
            try:
                await iptables_mod.drop_chain("filter", self.user.isolation)
            except iptables_mod.IptablesError as exc:
                log.error("removing %s: %s", self.user.isolation, exc)

    def _close_resolvers(self) -> None:
        for listener in self.resolvers.values():
            listener.close()
        self.resolvers.clear()

    def network_for(self, mode: str) -> Network:
        """The driver instance a container's --net gives it."""
        if mode == "host":
            return self.host
        if mode.startswith("container:"):
            return self.shared
        if mode in BRIDGE_MODES and self.bridge is not None:
            return self.bridge
        if mode not in BRIDGE_MODES and mode != "none":
            user = self.user.lookup(mode)
            if user is not None:
                if user.driver is None:
                    raise ServerError(f"network {user.record.name} has no bridge (see the daemon's log)")
                return user.driver
            raise NotFound(f"network {mode} not found")
        return self.none

    def user_network_of(self, mode: str) -> UserNetwork | None:
        if mode in BRIDGE_MODES or mode in ("none", "host") or mode.startswith("container:"):
            return None
        return self.user.lookup(mode)

    # --- per container -------------------------------------------------------
    async def prepare(self, daemon, container: Container) -> Prepared:
        """Before the process starts: address, ports, rules, links. All or nothing."""
        record = container.record
        host = record.host_config
        mode = host.network_mode or ""
        if container.id in self.endpoints or container.id in self.extra:   # a failed start left it
            await self.release(container)
        network = self.network_for(mode)
        primary = self.user_network_of(mode)
        uses_bridge = network is self.bridge
        children = [] if primary is not None else self._running_children(daemon, container)
        # Docker's rule: a container on any user-defined network asks its DNS server
        extras = [n for n in (record.network_settings.networks or {})
                  if primary is None or n != primary.record.name]
        prepared = Prepared(bridge=uses_bridge or primary is not None,
                            embedded_dns=primary is not None or (bool(extras) and mode not in ("none",)))
        _share_names(daemon, container, prepared)
        request = EndpointRequest(container.id)
        request.mac = record.config.mac_address.lower()
        if primary is not None:
            request.publish = _port_bindings(container)
            request.ip = _asked_ip(record, primary)
        elif uses_bridge:
            request.publish = _port_bindings(container)
            request.links = [LinkPeer(IPv4Address(child.record.network_settings.ip_address),
                                      tuple(parse_port_key(k) for k in child.record.config.exposed_ports or {}))
                             for child, _ in children if child.record.network_settings.ip_address]
        elif mode.startswith("container:"):
            request.join_pid = daemon.lookup(mode.split(":", 1)[1]).record.state.pid
        try:
            endpoint = await network.allocate(request)
        except (PortError, IptablesError, AddressError, NetworkError, OSError) as exc:
            raise _address_status(exc)(str(exc)) from None
        self.endpoints[container.id] = (network, endpoint)
        try:
            await self._allocate_extra(container, primary)
        except BaseException:
            await self.release(container)
            raise
        if uses_bridge or primary is not None:
            prepared.ip = str(endpoint.ip)
        for child, alias in children:
            child_ip = child.record.network_settings.ip_address
            prepared.env += link_env(container.name, alias, child, child_ip)
            if child_ip:
                prepared.hosts.append((child_ip, alias))
        asked = record.network_settings.networks
        if uses_bridge:
            record.network_settings = NetworkSettings(
                ip_address=str(endpoint.ip), ip_prefix_len=endpoint.prefix_len,
                mac_address=endpoint.mac, gateway=str(endpoint.gateway),
                bridge=endpoint.network, ports=_ports_record(container, endpoint), networks=asked)
        elif primary is not None:
            record.network_settings = NetworkSettings(ports=_ports_record(container, endpoint), networks=asked)
        else:
            record.network_settings = NetworkSettings(networks=asked)
        if primary is not None:
            _fill(record.network_settings, primary, endpoint)
        for name, (_, extra) in self.extra.get(container.id, {}).items():
            _fill(record.network_settings, self.user.by_name(name), extra)
        return prepared

    async def _allocate_extra(self, container: Container, primary: UserNetwork | None) -> None:
        """Endpoints on the other user-defined networks the container was connected to:
        eth1, eth2, ... in the order they were connected, no default route, no ports."""
        record = container.record
        for name in list(record.network_settings.networks or {}):
            if primary is not None and name == primary.record.name:
                continue
            user = self.user.by_name(name)
            if user is None:
                raise NotFound(f"network {name} not found (container {container.name.lstrip('/')} "
                               f"is connected to it): disconnect it first")
            await self._allocate_on(container, user)

    async def _allocate_on(self, container: Container, user: UserNetwork) -> Endpoint:
        if user.driver is None:
            raise ServerError(f"network {user.record.name} has no bridge (see the daemon's log)")
        held = self.extra.setdefault(container.id, {})
        used = {e.ifname for _, e in held.values()} | {"eth0"}
        ifname = next(f"eth{i}" for i in range(1, 1000) if f"eth{i}" not in used)
        request = EndpointRequest(container.id, ip=_asked_ip(container.record, user), ifname=ifname,
                                  default_route=False)
        try:
            endpoint = await user.driver.allocate(request)
        except (PortError, IptablesError, AddressError, NetworkError, OSError) as exc:
            raise _address_status(exc)(str(exc)) from None
        held[user.record.name] = (user.driver, endpoint)
        return endpoint

    # --- hot connect and disconnect (API 1.21+) ------------------------------
    async def connect_running(self, container: Container, user: UserNetwork) -> None:
        """A running container gets a new interface on `user` (a veth into its namespace)."""
        endpoint = await self._allocate_on(container, user)
        try:
            await user.driver.connect(endpoint, container.record.state.pid)
        except (NetworkError, OSError) as exc:
            self.extra[container.id].pop(user.record.name, None)
            await user.driver.release(endpoint)
            raise ServerError(f"connecting to {user.record.name}: {exc}") from None
        _fill(container.record.network_settings, user, endpoint)
        if container.id not in self.resolvers:   # its first user network: it asks 127.0.0.11 now
            await self._open_resolver(container, container.record.state.pid)
            from . import netfiles
            netfiles.switch_to_embedded_dns(container, self.config.dns_search)

    async def disconnect_running(self, container: Container, user: UserNetwork) -> None:
        held = self.extra.get(container.id, {}).pop(user.record.name, None)
        if held is not None:
            await held[0].release(held[1])
        elif self.endpoints.get(container.id, (None,))[0] is user.driver:
            network, endpoint = self.endpoints.pop(container.id)
            await network.release(endpoint)
            resolver = self.resolvers.pop(container.id, None)
            if resolver is not None:
                resolver.close()

    def names_for(self, container: Container) -> dns.Names:
        """What the embedded DNS server answers for `container`: the names, aliases and
        links of the containers on its user-defined networks, as `name` or `name.network`."""
        def lookup(name: str) -> list[IPv4Address] | None:
            found: list[IPv4Address] = []
            for net_name, driver in self._user_networks_of(container):
                short = name.removesuffix("." + net_name) if name.endswith("." + net_name) else name
                for cid, endpoint in driver.endpoints.items():
                    other = self.containers.get(cid)
                    if other is None or endpoint.ip is None:
                        continue
                    settings = (other.record.network_settings.networks or {}).get(net_name)
                    aliases = (settings.aliases or []) if settings is not None else []
                    if short in (other.name.lstrip("/").lower(), cid[:12]) or \
                            short in (a.lower() for a in aliases):
                        if endpoint.ip not in found:
                            found.append(endpoint.ip)
                settings = (container.record.network_settings.networks or {}).get(net_name)
                links = [(l.name, l.alias) for l in map(parse_link, (settings.links or []) if settings else [])]
                # --link on a user network: HostConfig.Links ("/db:/web/db") are aliases too
                links += [(l.name, l.alias) for l in map(parse_link, container.record.host_config.links or [])]
                for target, alias in links:
                    if short == alias.lower():
                        for cid, endpoint in driver.endpoints.items():
                            other = self.containers.get(cid)
                            if other is not None and other.name.lstrip("/") == target and endpoint.ip is not None:
                                found.append(endpoint.ip)
            return found or None
        return lookup

    def _user_networks_of(self, container: Container) -> list[tuple[str, BridgeNetwork]]:
        out = []
        held = self.endpoints.get(container.id)
        if held is not None:
            user = self.user_network_of(container.record.host_config.network_mode or "")
            if user is not None and user.driver is held[0]:
                out.append((user.record.name, user.driver))
        out += [(name, driver) for name, (driver, _) in self.extra.get(container.id, {}).items()]
        return out

    def upstreams_for(self, container: Container) -> dns.Upstreams:
        """Where the embedded DNS server forwards the rest: the container's --dns, else the
        daemon's, else the host's nameservers."""
        def servers() -> list[str]:
            return list(container.record.host_config.dns or self.config.dns or
                        [str(n.network_address) for n in nameservers()])
        return servers

    async def _open_resolver(self, container: Container, pid: int) -> None:
        if not self._user_networks_of(container):
            return
        dns = await _embedded_dns()
        try:
            listener = await dns.Listener.open(pid, self.names_for(container), self.upstreams_for(container))
        except OSError as exc:
            raise ExecError(f"starting the embedded DNS server: {exc}") from None
        old = self.resolvers.pop(container.id, None)
        if old is not None:
            old.close()
        self.resolvers[container.id] = listener

    def port_sockets(self, container: Container) -> dict[str, int]:
        """Fds of the sockets holding the container's host ports (for the exec driver to keep)."""
        held = self.endpoints.get(container.id)
        if held is None or not isinstance(held[0], BridgeNetwork):
            return {}
        return held[0].port_sockets(container.id)

    async def adopt(self, daemon, container: Container, sockets: dict[str, int] | None = None) -> None:
        """Live restore: take back the endpoint of a running container an earlier daemon
        connected (same address and veth; its host ports, rules and proxy again).
        NetworkSettings stay as recorded."""
        mode = container.record.host_config.network_mode or ""
        network = self.network_for(mode)
        request = EndpointRequest(container.id)
        if isinstance(network, BridgeNetwork) and network is not self.bridge:   # a user-defined one
            kept = {key: socket.socket(fileno=fd) for key, fd in (sockets or {}).items()}
            endpoint = await self._adopt_on(network, request, kept, container)
            self.endpoints[container.id] = (network, endpoint)
            await self._adopt_extra(container)
            await self._open_resolver(container, container.record.state.pid)
            return
        if network is self.bridge:
            children = [(c, a) for c, a in self._running_children_lenient(daemon, container)]
            request.links = [LinkPeer(IPv4Address(child.record.network_settings.ip_address),
                                      tuple(parse_port_key(k) for k in child.record.config.exposed_ports or {}))
                             for child, _ in children if child.record.network_settings.ip_address]
            kept = {key: socket.socket(fileno=fd) for key, fd in (sockets or {}).items()}
            try:
                endpoint = await network.adopt(request, kept)
            except (PortError, IptablesError, AddressError, NetworkError, OSError) as exc:
                raise ServerError(f"restoring the network of {container.id[:12]}: {exc}") from None
            if endpoint is None:
                raise ServerError(f"restoring the network of {container.id[:12]}: its endpoint is gone")
        else:
            for fd in (sockets or {}).values():
                os.close(fd)
            if mode.startswith("container:"):
                request.join_pid = daemon.lookup(mode.split(":", 1)[1]).record.state.pid
            endpoint = await network.allocate(request)
        self.endpoints[container.id] = (network, endpoint)
        await self._adopt_extra(container)
        await self._open_resolver(container, container.record.state.pid)   # if it is on a user network

    async def _adopt_on(self, network: BridgeNetwork, request: EndpointRequest, kept: dict,
                        container: Container) -> Endpoint:
        try:
            endpoint = await network.adopt(request, kept)
        except (PortError, IptablesError, AddressError, NetworkError, OSError) as exc:
            raise ServerError(f"restoring the network of {container.id[:12]}: {exc}") from None
        if endpoint is None:
            raise ServerError(f"restoring the network of {container.id[:12]} on {network.name}: "
                              f"its endpoint is gone")
        return endpoint

    async def _adopt_extra(self, container: Container) -> None:
        primary = self.user_network_of(container.record.host_config.network_mode or "")
        for name in list(container.record.network_settings.networks or {}):
            user = self.user.by_name(name)
            if user is None or user is primary or user.driver is None:
                continue
            endpoint = await self._adopt_on(user.driver, EndpointRequest(container.id), {}, container)
            self.extra.setdefault(container.id, {})[name] = (user.driver, endpoint)

    def _running_children_lenient(self, daemon, container: Container) -> list[tuple[Container, str]]:
        out = []
        for child_id, alias in daemon.graph.db.links_of(container.id):
            child = daemon.containers.get(child_id)
            if child is not None and child.running:
                out.append((child, alias))
        return out

    async def drop_unadopted(self) -> None:
        """After live restore: endpoints saved by an earlier daemon that nobody took back."""
        if self.bridge is not None:
            await self.bridge.drop_kept()
        await self.user.drop_kept()

    async def detach(self) -> None:
        """pyctrd leaves its containers running: keep their veths and rules for the next
        daemon (the userland proxies stop with this one)."""
        self._close_resolvers()
        self.endpoints.clear()
        self.extra.clear()
        await self.user.detach()
        if self.bridge is not None:
            await self.bridge.detach()

    async def connect(self, container: Container, pid: int) -> None:
        """In on_created: the container's namespace exists, its process waits for us."""
        held = self.endpoints.get(container.id)
        if held is None:
            return
        network, endpoint = held
        try:
            await network.connect(endpoint, pid)
            for extra_network, extra in self.extra.get(container.id, {}).values():
                await extra_network.connect(extra, pid)
        except (NetworkError, OSError) as exc:
            raise ExecError(f"setting up the network: {exc}") from None
        await _write_interface_sysctls(container, pid)
        await self._open_resolver(container, pid)

    async def release(self, container: Container) -> None:
        """After the container stopped (or failed to start). Safe to call twice."""
        resolver = self.resolvers.pop(container.id, None)
        if resolver is not None:
            resolver.close()
        for extra_network, extra in self.extra.pop(container.id, {}).values():
            await extra_network.release(extra)
        held = self.endpoints.pop(container.id, None)
        if held is not None:
            network, endpoint = held
            await network.release(endpoint)
        container.record.network_settings = stopped_settings(container.record.network_settings)

    def _running_children(self, daemon, container: Container) -> list[tuple[Container, str]]:
        out = []
        for child_id, alias in daemon.graph.db.links_of(container.id):
            child = daemon.containers.get(child_id)
            if child is None:
                raise NotFound(f"Could not get container for {alias} (linked as {container.name}/{alias})")
            if not child.running:
                raise Conflict(f"Cannot link to a non running container: {child.name} AS {container.name}/{alias}")
            out.append((child, alias))
        return out


async def _write_interface_sysctls(container: Container, pid: int) -> None:
    """--sysctl net.ipv4.conf.eth0.x=...: once the container's interfaces are in (its init
    wrote the others), as Docker's are written after its network is set up."""
    wanted = sorted((k, v) for k, v in (container.record.host_config.sysctls or {}).items() if interface_sysctl(k))
    if not wanted:
        return

    def write() -> None:
        for name, value in wanted:
            try:
                with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
                    f.write(value)
            except OSError as e:
                raise ExecError(f"sysctl {name}={value}: {e.strerror} (in the container's "
                                "network namespace: is the interface there?)") from None

    await asyncio.to_thread(in_netns, pid, write)


def _wanted_ports(container: Container) -> list[tuple[str, list | None]]:
    """Docker 1.2's rules: every exposed port is listed; bound ones (or all with -P) get
    host ports. (key, the bindings asked for or None), in the order inspect shows."""
    config, host = container.record.config, container.record.host_config
    keys = {parse_port_key(k).key for k in config.exposed_ports or {}}
    bindings = {parse_port_key(k).key: list(v or []) for k, v in (host.port_bindings or {}).items()}
    out = []
    for key in sorted(keys | set(bindings), key=lambda k: (int(k.split("/")[0]), k)):
        wanted = bindings.get(key) or []
        if not wanted and host.publish_all_ports:
            wanted = [None]
        out.append((key, wanted or None))
    return out


def _port_bindings(container: Container) -> list[PortBinding]:
    return [PortBinding(parse_port_key(key), (binding.host_ip if binding else "") or "0.0.0.0",
                        int(binding.host_port) if binding and binding.host_port else 0)
            for key, wanted in _wanted_ports(container) for binding in wanted or []]


def _ports_record(container: Container, endpoint: Endpoint) -> dict:
    """NetworkSettings.Ports: each listed port, with the host ports it got, in request order."""
    published = iter(endpoint.published)
    ports: dict = {}
    for key, wanted in _wanted_ports(container):
        ports[key] = None if wanted is None else [
            {"HostIp": p.host_ip, "HostPort": str(p.host_port)} for p in (next(published) for _ in wanted)]
    return ports


def _share_names(daemon, container: Container, prepared: Prepared) -> None:
    """--net=host takes the host's name, --net=container:X that of X and its address
    (Docker 1.2's initializeNetworking)."""
    config = container.record.config
    mode = container.record.host_config.network_mode or ""
    if mode == "host":
        name, _, domain = socket.gethostname().partition(".")
        config.hostname, config.domainname = name, domain
    elif mode.startswith("container:"):
        other = daemon.lookup(mode.split(":", 1)[1]).record
        config.hostname, config.domainname = other.config.hostname, other.config.domainname
        prepared.ip = other.network_settings.ip_address


def merge_env(env: list[str], link_env: list[str]) -> list[str]:
    """Link variables never override the container's own (`-e` wins, as in Docker 1.2)."""
    present = {item.partition("=")[0] for item in env}
    return env + [item for item in link_env if item.partition("=")[0] not in present]


def start_order(daemon, containers: list[Container]) -> list[Container]:
    """Containers in an order where each comes after those it links to (a daemon
    restarting containers after a crash must start linked-to ones first)."""
    pending = {c.id: c for c in containers}
    ordered: list[Container] = []
    visiting: set[str] = set()

    def visit(container: Container) -> None:
        if container.id not in pending or container.id in visiting:
            return
        visiting.add(container.id)
        for child_id, _ in daemon.graph.db.links_of(container.id):
            if child_id in pending:
                visit(pending[child_id])
        if container.id in pending:
            ordered.append(pending.pop(container.id))

    for container in containers:
        visit(container)
    return ordered
