"""What the daemon does about networking for each container (Docker 1.2's
allocateNetwork / releaseNetwork / links), on top of engine/networkdriver:

  create   validate port specs, --net and --link; record links as graph-DB edges
  start    allocate an address and the published ports (host port, DNAT rules,
           userland proxy), the link rules, env and /etc/hosts entries: all or none
  created  (the exec driver's on_created hook) the veth pair into the container
  exit     release all of it; NetworkSettings is emptied as Docker 1.2 did
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from ..errors import BadRequest, Conflict, NotFound, ServerError
from ..execdriver.driver import ExecError
from ..networkdriver import iptables
from ..networkdriver.bridge import Bridge, BridgeError, Netlink, mac_for, valid_bridge_name
from ..networkdriver.firewall import Firewall
from ..networkdriver.iptables import IptablesError, Rule
from ..networkdriver.ipam import AddressError, IPAllocator
from ..networkdriver.portallocator import PortAllocator, PortError, PortInUse, Reservation
from ..networkdriver.proxy import new_proxy
from ..api.config import ContainerConfig, HostConfig
from .config import DaemonConfig
from .container import Container
from .records import NetworkSettings

log = logging.getLogger("pyctr.network")

BRIDGE_MODES = ("", "default", "bridge")


class NetworkSetupError(Exception):
    """The daemon cannot set up its bridge or firewall (bad flags, taken subnet, ...)."""


@dataclass
class PortSpec:
    port: int
    proto: str

    @property
    def key(self) -> str:
        return f"{self.port}/{self.proto}"


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
class Mapping:
    spec: PortSpec
    reservation: Reservation
    proxy: object | None = None


@dataclass
class Endpoint:
    """What one running container holds of the network."""
    ip: IPv4Address | None = None
    mappings: list[Mapping] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    veth: str = ""


@dataclass
class Prepared:
    """What start needs from the network besides the namespace: env and /etc/hosts."""
    ip: str = ""
    env: list[str] = field(default_factory=list)
    hosts: list[tuple[str, str]] = field(default_factory=list)
    bridge: bool = False        # the container gets a veth in on_created


class DaemonNetwork:
    def __init__(self, config: DaemonConfig, netlink: Netlink | None = None,
                 bridge: Bridge | None = None, ipam: IPAllocator | None = None,
                 firewall: Firewall | None = None) -> None:
        self.config = config
        self.netlink = netlink
        self.bridge = bridge
        self.ipam = ipam
        self.firewall = firewall
        self.ports = PortAllocator()
        self.endpoints: dict[str, Endpoint] = {}
        self.lock: BridgeLock | None = None

    @property
    def enabled(self) -> bool:
        return self.bridge is not None

    # --- daemon life cycle ---------------------------------------------------
    @classmethod
    async def open(cls, config: DaemonConfig) -> "DaemonNetwork":
        if config.bridge == "none":
            if config.bip or config.fixed_cidr:
                raise NetworkSetupError("--bip and --fixed-cidr make no sense with --bridge=none")
            return cls(config)
        if config.bridge and not valid_bridge_name(config.bridge):
            raise NetworkSetupError(f"invalid --bridge {config.bridge!r}: 1 to 15 of [a-zA-Z0-9_.-]")
        if not 68 <= config.mtu <= 65535:
            raise NetworkSetupError(f"invalid --mtu {config.mtu}: 68 to 65535")
        try:
            bip = IPv4Interface(config.bip) if config.bip else None
            fixed = IPv4Network(config.fixed_cidr) if config.fixed_cidr else None
        except ValueError as exc:
            raise NetworkSetupError(f"invalid --bip or --fixed-cidr: {exc}") from None
        if bip is not None and "/" not in config.bip:
            raise NetworkSetupError(f"--bip {config.bip}: give the prefix length too (e.g. {config.bip}/24)")
        lock = BridgeLock.claim(config)
        netlink = Netlink()
        try:
            bridge = await netlink.ensure_bridge(lock.name, bip, config.mtu)
            try:
                ipam = IPAllocator(bridge.network, bridge.gateway, fixed)
                if bridge.created:
                    lock.mark_created()
                elif lock.created():   # made by a pyctrd that died
                    bridge.created = True
                # We hold the bridge's lock: whatever is plugged into it was left by a dead daemon.
                for index, name in await netlink.ports_of(bridge.index):
                    log.info("removing stale veth %s from %s", name, bridge.name)
                    await netlink.delete_link(index)
                if config.ip_forward:
                    _enable_ip_forward()
                firewall = None
                if config.iptables:
                    firewall = Firewall(bridge.name, bridge.network, icc=config.icc, ip_masq=config.ip_masq,
                                        hairpin_nat=not config.userland_proxy)
                    if firewall.hairpin_nat:
                        _sysctl(f"net/ipv4/conf/{bridge.name}/route_localnet", "1")
                    await firewall.setup()
                    if not config.icc and not _bridge_netfilter():
                        log.warning("--icc=false: bridged traffic does not pass iptables here "
                                    "(load br_netfilter): containers are not isolated")
                elif iptables.available():   # rules an earlier run (with --iptables) left
                    await Firewall(bridge.name, bridge.network).teardown()
            except BaseException:
                if bridge.created:
                    await netlink.delete_link(bridge.index)
                    lock.unmark_created()
                raise
        except BaseException as exc:
            netlink.close()
            lock.release()
            if isinstance(exc, (BridgeError, IptablesError, AddressError, OSError)):
                raise NetworkSetupError(f"bridge {lock.name}: {exc}") from None
            raise
        log.info("bridge %s %s (%s), iptables %s, icc %s", bridge.name, bridge.address,
                 "made" if bridge.created else "existing", config.iptables, config.icc)
        network = cls(config, netlink, bridge, ipam, firewall)
        network.lock = lock
        return network

    async def shutdown(self) -> None:
        """Take down what open() set up: rules, chains, and the bridge if we made it."""
        for container_id in list(self.endpoints):
            await self._release_endpoint(container_id)
        if self.bridge is None:
            return
        try:
            if self.firewall is not None:
                await self.firewall.teardown()
            if self.bridge.created:
                await self.netlink.delete_link(self.bridge.index)
                self.lock.unmark_created()
        except Exception as exc:
            log.error("network teardown: %s", exc)
        finally:
            self.netlink.close()
            self.lock.release()

    # --- per container -------------------------------------------------------
    async def prepare(self, daemon, container: Container) -> Prepared:
        """Before the process starts: address, ports, rules, links. All or nothing."""
        record = container.record
        host = record.host_config
        uses_bridge = self.enabled and (host.network_mode or "") in BRIDGE_MODES
        if container.id in self.endpoints:   # a failed start left it: start over
            await self.release(container)
        children = self._running_children(daemon, container)
        endpoint = Endpoint()
        prepared = Prepared(bridge=uses_bridge)
        _share_names(daemon, container, prepared)
        try:
            if uses_bridge:
                try:
                    endpoint.ip = self.ipam.allocate()
                except AddressError as exc:
                    raise ServerError(f"Cannot allocate an address on {self.bridge.name}: {exc}") from None
                prepared.ip = str(endpoint.ip)
                ports = await self._map_ports(container, endpoint)
            for child, alias in children:
                child_ip = child.record.network_settings.ip_address
                prepared.env += link_env(container.name, alias, child, child_ip)
                if child_ip:
                    prepared.hosts.append((child_ip, alias))
                if uses_bridge and child_ip and self.firewall is not None and not self.firewall.icc:
                    for key in child.record.config.exposed_ports or {}:
                        spec = parse_port_key(key)
                        endpoint.rules += self.firewall.link_rules(spec.proto, endpoint.ip,
                                                                   IPv4Address(child_ip), spec.port)
            if endpoint.rules:
                await iptables.apply(add=endpoint.rules)
            for mapping in endpoint.mappings:
                if mapping.proxy is not None:
                    await mapping.proxy.start()
        except BaseException as exc:
            await self._undo(endpoint, rules_applied=False)
            if isinstance(exc, (PortError, IptablesError, OSError)):
                status = Conflict if isinstance(exc, PortInUse) else ServerError
                raise status(str(exc)) from None
            raise
        self.endpoints[container.id] = endpoint
        if uses_bridge:
            record.network_settings = NetworkSettings(
                ip_address=str(endpoint.ip), ip_prefix_len=self.bridge.network.prefixlen,
                mac_address=mac_for(endpoint.ip), gateway=str(self.bridge.gateway),
                bridge=self.bridge.name, ports=ports)
        else:
            record.network_settings = NetworkSettings()
        return prepared

    async def connect(self, container: Container, pid: int) -> None:
        """In on_created: the container's namespace exists, its process waits for us."""
        endpoint = self.endpoints.get(container.id)
        if endpoint is None or endpoint.ip is None:
            return
        try:
            endpoint.veth = await self.netlink.attach(self.bridge, pid, endpoint.ip)
        except (BridgeError, OSError) as exc:
            raise ExecError(f"setting up the network: {exc}") from None

    async def release(self, container: Container) -> None:
        """After the container stopped (or failed to start). Safe to call twice."""
        await self._release_endpoint(container.id)
        container.record.network_settings = NetworkSettings()

    async def _release_endpoint(self, container_id: str) -> None:
        endpoint = self.endpoints.pop(container_id, None)
        if endpoint is not None:
            await self._undo(endpoint, rules_applied=True)

    async def _undo(self, endpoint: Endpoint, rules_applied: bool) -> None:
        for mapping in endpoint.mappings:
            if mapping.proxy is not None:
                await mapping.proxy.close()
            self.ports.release(mapping.reservation)
        endpoint.mappings.clear()
        if rules_applied and endpoint.rules:
            try:
                await iptables.apply(delete=endpoint.rules)
            except IptablesError as exc:   # someone removed them: try one by one
                log.warning("removing rules: %s", exc)
                for rule in endpoint.rules:
                    try:
                        await iptables.apply(delete=[rule])
                    except IptablesError:
                        pass
        endpoint.rules.clear()
        if endpoint.veth and self.netlink is not None:   # usually gone with the namespace
            index = await self.netlink.index_of(endpoint.veth)
            if index is not None:
                await self.netlink.delete_link(index)
        if endpoint.ip is not None and self.ipam is not None:
            self.ipam.release(endpoint.ip)
            endpoint.ip = None

    async def _map_ports(self, container: Container, endpoint: Endpoint) -> dict:
        """Docker 1.2's rules: every exposed port is listed; bound ones (or all with -P)
        get a host port. Rules go to endpoint.rules, proxies are made but not started."""
        config, host = container.record.config, container.record.host_config
        keys = {parse_port_key(k).key for k in config.exposed_ports or {}}
        bindings = {parse_port_key(k).key: list(v or []) for k, v in (host.port_bindings or {}).items()}
        ports: dict = {}
        for key in sorted(keys | set(bindings), key=lambda k: (int(k.split("/")[0]), k)):
            spec = parse_port_key(key)
            wanted = bindings.get(key) or []
            if not wanted and host.publish_all_ports:
                wanted = [None]
            if not wanted:
                ports[key] = None
                continue
            ports[key] = []
            for binding in wanted:
                host_ip = (binding.host_ip if binding else "") or "0.0.0.0"
                host_port = int(binding.host_port) if binding and binding.host_port else 0
                reservation = self.ports.reserve(spec.proto, host_ip, host_port)
                mapping = Mapping(spec, reservation)
                endpoint.mappings.append(mapping)
                if self.config.userland_proxy:
                    mapping.proxy = new_proxy(spec.proto, reservation.sock, (str(endpoint.ip), spec.port))
                if self.firewall is not None:
                    endpoint.rules += self.firewall.port_rules(spec.proto, host_ip, reservation.port,
                                                               endpoint.ip, spec.port)
                ports[key].append({"HostIp": host_ip, "HostPort": str(reservation.port)})
        return ports

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


class BridgeLock:
    """One live pyctrd per bridge: two daemons on one bridge would delete each other's
    veths and rules. Without --bridge a daemon takes the first free of pyctr0..pyctr9
    (the one it had before, first), so daemons started with defaults never collide."""

    DIR = "/run/pyctr/network"

    def __init__(self, name: str, fd: int) -> None:
        self.name, self.fd = name, fd

    @classmethod
    def claim(cls, config: DaemonConfig) -> "BridgeLock":
        os.makedirs(cls.DIR, exist_ok=True)
        if config.bridge:
            fd = cls._try(config.bridge)
            if fd is None:
                raise NetworkSetupError(
                    f"bridge {config.bridge} is used by another running pyctrd (pid "
                    f"{cls._holder(config.bridge)}): give this daemon a --bridge of its own")
            return cls(config.bridge, fd)
        remembered = os.path.join(config.exec_root, "bridge")
        try:
            with open(remembered) as f:
                names = [f.read().strip()]
        except OSError:
            names = []
        for name in names + [f"pyctr{i}" for i in range(10)]:
            if valid_bridge_name(name) and (fd := cls._try(name)) is not None:
                with open(remembered, "w") as f:
                    f.write(name + "\n")
                return cls(name, fd)
        raise NetworkSetupError("pyctr0 to pyctr9 are all used by other running daemons: give a --bridge")

    @classmethod
    def _try(cls, name: str) -> int | None:
        path = os.path.join(cls.DIR, f"{name}.lock")
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:   # the holder unlinks the file when it lets go: make sure ours is the live one
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    @classmethod
    def _holder(cls, name: str) -> str:
        try:
            with open(os.path.join(cls.DIR, f"{name}.lock")) as f:
                return f.read().strip() or "?"
        except OSError:
            return "?"

    def _created_path(self) -> str:
        return os.path.join(self.DIR, f"{self.name}.created")

    def created(self) -> bool:
        return os.path.exists(self._created_path())

    def mark_created(self) -> None:
        open(self._created_path(), "w").close()

    def unmark_created(self) -> None:
        try:
            os.unlink(self._created_path())
        except FileNotFoundError:
            pass

    def release(self) -> None:
        if self.fd >= 0:
            try:
                os.unlink(os.path.join(self.DIR, f"{self.name}.lock"))
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = -1


def _sysctl(name: str, value: str) -> None:
    with open(f"/proc/sys/{name}", "w") as f:
        f.write(value)


def _bridge_netfilter() -> bool:
    try:
        with open("/proc/sys/net/bridge/bridge-nf-call-iptables") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _enable_ip_forward() -> None:
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        if f.read().strip() == "1":
            return
    _sysctl("net/ipv4/ip_forward", "1")


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
