"""What the daemon does about networking for each container (Docker 1.2's
allocateNetwork / releaseNetwork / links), on top of the drivers in engine/networkdriver
(driver.py: a network per driver, one endpoint per running container on it):

  create   validate port specs, --net and --link; record links as graph-DB edges
  start    allocate an address and the published ports (host port, DNAT rules,
           userland proxy), the link rules, env and /etc/hosts entries: all or none
  created  (the exec driver's on_created hook) the veth pair into the container
  exit     release all of it; NetworkSettings is emptied as Docker 1.2 did
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ..errors import BadRequest, Conflict, NotFound, ServerError
from ..execdriver.driver import ExecError
from ..networkdriver.bridge import BridgeConfig, BridgeNetwork
from ..networkdriver.container import ContainerNetwork
from ..networkdriver.driver import (Endpoint, EndpointRequest, LinkPeer, Network, NetworkError,
                                    NetworkSetupError, PortBinding, PortSpec)
from ..networkdriver.host import HostNetwork
from ..networkdriver.ipam import AddressError
from ..networkdriver.iptables import IptablesError
from ..networkdriver.none import NoneNetwork
from ..networkdriver.portallocator import PortError, PortInUse
from ..api.config import ContainerConfig, HostConfig
from .config import DaemonConfig
from .container import Container
from .container_record import NetworkSettings

BRIDGE_MODES = ("", "default", "bridge")


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


def bridge_config(config: DaemonConfig) -> BridgeConfig:
    return BridgeConfig(name=config.bridge, bip=config.bip, fixed_cidr=config.fixed_cidr, mtu=config.mtu,
                        ip_forward=config.ip_forward, iptables=config.iptables, icc=config.icc,
                        ip_masq=config.ip_masq, userland_proxy=config.userland_proxy,
                        state_dir=config.exec_root)


class DaemonNetwork:
    """The networks of one daemon (its bridge, or none with --bridge=none; host, none and
    container:) and which of them each running container's endpoint is on."""

    def __init__(self, config: DaemonConfig, bridge: BridgeNetwork | None = None) -> None:
        self.config = config
        self.bridge = bridge
        self.host, self.none, self.shared = HostNetwork(), NoneNetwork(), ContainerNetwork()
        self.endpoints: dict[str, tuple[Network, Endpoint]] = {}

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
        opened = []
        try:
            for each in network.networks():
                await each.open()
                opened.append(each)
        except BaseException:
            for each in reversed(opened):
                await each.shutdown()
            raise
        return network

    async def shutdown(self) -> None:
        """Every endpoint released, then each network taken down (the bridge's rules,
        chains, and the bridge if we made it)."""
        self.endpoints.clear()
        for each in self.networks():
            await each.shutdown()

    def network_for(self, mode: str) -> Network:
        """The driver instance a container's --net gives it."""
        if mode == "host":
            return self.host
        if mode.startswith("container:"):
            return self.shared
        if mode in BRIDGE_MODES and self.bridge is not None:
            return self.bridge
        return self.none

    # --- per container -------------------------------------------------------
    async def prepare(self, daemon, container: Container) -> Prepared:
        """Before the process starts: address, ports, rules, links. All or nothing."""
        record = container.record
        host = record.host_config
        mode = host.network_mode or ""
        network = self.network_for(mode)
        uses_bridge = network is self.bridge
        if container.id in self.endpoints:   # a failed start left it: start over
            await self.release(container)
        children = self._running_children(daemon, container)
        prepared = Prepared(bridge=uses_bridge)
        _share_names(daemon, container, prepared)
        request = EndpointRequest(container.id)
        if uses_bridge:
            request.publish = _port_bindings(container)
            request.links = [LinkPeer(IPv4Address(child.record.network_settings.ip_address),
                                      tuple(parse_port_key(k) for k in child.record.config.exposed_ports or {}))
                             for child, _ in children if child.record.network_settings.ip_address]
        elif mode.startswith("container:"):
            request.join_pid = daemon.lookup(mode.split(":", 1)[1]).record.state.pid
        try:
            endpoint = await network.allocate(request)
        except (PortError, IptablesError, AddressError, NetworkError, OSError) as exc:
            status = Conflict if isinstance(exc, PortInUse) else ServerError
            raise status(str(exc)) from None
        self.endpoints[container.id] = (network, endpoint)
        if uses_bridge:
            prepared.ip = str(endpoint.ip)
        for child, alias in children:
            child_ip = child.record.network_settings.ip_address
            prepared.env += link_env(container.name, alias, child, child_ip)
            if child_ip:
                prepared.hosts.append((child_ip, alias))
        if uses_bridge:
            record.network_settings = NetworkSettings(
                ip_address=str(endpoint.ip), ip_prefix_len=endpoint.prefix_len,
                mac_address=endpoint.mac, gateway=str(endpoint.gateway),
                bridge=endpoint.network, ports=_ports_record(container, endpoint))
        else:
            record.network_settings = NetworkSettings()
        return prepared

    def port_sockets(self, container: Container) -> dict[str, int]:
        """Fds of the sockets holding the container's host ports (for the exec driver to keep)."""
        held = self.endpoints.get(container.id)
        if held is None or held[0] is not self.bridge:
            return {}
        return self.bridge.port_sockets(container.id)

    async def adopt(self, daemon, container: Container, sockets: dict[str, int] | None = None) -> None:
        """Live restore: take back the endpoint of a running container an earlier daemon
        connected (same address and veth; its host ports, rules and proxy again).
        NetworkSettings stay as recorded."""
        mode = container.record.host_config.network_mode or ""
        network = self.network_for(mode)
        request = EndpointRequest(container.id)
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

    async def detach(self) -> None:
        """pyctrd leaves its containers running: keep their veths and rules for the next
        daemon (the userland proxies stop with this one)."""
        self.endpoints.clear()
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
        except (NetworkError, OSError) as exc:
            raise ExecError(f"setting up the network: {exc}") from None

    async def release(self, container: Container) -> None:
        """After the container stopped (or failed to start). Safe to call twice."""
        held = self.endpoints.pop(container.id, None)
        if held is not None:
            network, endpoint = held
            await network.release(endpoint)
        container.record.network_settings = NetworkSettings()

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
