"""User-defined networks (API 1.21+): the daemon's records of them, the jobs of the
`/networks` routes, and what a container's NetworkingConfig asks for.

Each user network is an instance of a network driver (today the bridge driver:
its own Linux bridge, subnet, IPAM and iptables chains); the predefined `bridge`,
`host` and `none` are the daemon's own instances (daemon/network.py).

Records live in `<data root>/networks.json`, written whole to a temporary file and
renamed (atomic). A network is written as "pending" before its bridge is made and
"ready" after: a crash in between leaves a pending record, whose bridge and rules
the next start-up removes with the record (`UserNetworks.open`). Removal undoes the
bridge first and the record last, so a crash in between brings the network back
whole rather than half."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, ClassVar

from ..api.codec import from_api, to_api
from ..crashpoint import crash_point
from ..api.filters import NETWORK_LIST, NETWORK_PRUNE, Filters, timestamp
from ..api.networks import (IPAM, EndpointSettings, IPAMPool, NetworkConnectRequest, NetworkContainer,
                            NetworkCreated, NetworkCreateRequest, NetworkDisconnectRequest, NetworkingConfig,
                            NetworkPruneReport, NetworkRecord)
from ..errors import BadRequest, Conflict, Forbidden, NotFound, ServerError
from ..graph.graph import new_id, now_rfc3339
from ..jobs import Job, JobArgs
from ..networkdriver.firewall import ISOLATION_PREFIX
from ..networkdriver import addrpool, iptables
from ..networkdriver.addrpool import AddressPool
from ..networkdriver.bridge import BridgeConfig, BridgeNetwork
from ..networkdriver.driver import NetworkError, NetworkSetupError
from ..networkdriver.firewall import Firewall
from ..networkdriver.netlink import Netlink, host_routes, nameservers, valid_bridge_name
from .names import VALID_NAME

if TYPE_CHECKING:
    from .config import DaemonConfig
    from .container import Container
    from .daemon import Daemon

log = logging.getLogger("pyctr.network")

PREDEFINED = ("bridge", "host", "none")
DEFAULT_BRIDGE_MODES = ("", "default", "bridge")
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
ICC_OPTION = "com.docker.network.bridge.enable_icc"
MASQ_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
MTU_OPTION = "com.docker.network.driver.mtu"
HONOURED_OPTIONS = (BRIDGE_NAME_OPTION, ICC_OPTION, MASQ_OPTION, MTU_OPTION)


def isolation_chain(config: "DaemonConfig") -> str:
    """The daemon's own isolation chain: named after its data root, so that daemons
    started side by side never share (or remove) one another's."""
    return ISOLATION_PREFIX + hashlib.sha1(config.data_root.encode()).hexdigest()[:10]


# --- jobs' args ------------------------------------------------------------------

@dataclass
class NetworkCreate(JobArgs[NetworkCreated]):
    job: ClassVar[str] = "network_create"
    request: NetworkCreateRequest


@dataclass
class NetworkList(JobArgs[list]):
    job: ClassVar[str] = "network_list"
    filters: Filters = field(default_factory=Filters)


@dataclass
class NetworkInspect(JobArgs[NetworkRecord]):
    job: ClassVar[str] = "network_inspect"
    name: str
    verbose: bool = False
    scope: str = ""


@dataclass
class NetworkRemove(JobArgs[None]):
    job: ClassVar[str] = "network_remove"
    name: str


@dataclass
class NetworkConnect(JobArgs[None]):
    job: ClassVar[str] = "network_connect"
    name: str
    request: NetworkConnectRequest


@dataclass
class NetworkDisconnect(JobArgs[None]):
    job: ClassVar[str] = "network_disconnect"
    name: str
    request: NetworkDisconnectRequest


@dataclass
class NetworkPrune(JobArgs[NetworkPruneReport]):
    job: ClassVar[str] = "network_prune"
    filters: Filters = field(default_factory=Filters)


# --- the networks of one daemon --------------------------------------------------

@dataclass
class UserNetwork:
    record: NetworkRecord
    bridge_name: str
    subnet_given: bool = False            # at create: only then may containers ask for an --ip
    driver: BridgeNetwork | None = None   # None while its bridge could not be opened

    @property
    def subnet(self) -> IPv4Network:
        return IPv4Network(self.record.ipam.config[0].subnet)


class NetworkStore:
    """The records, as one JSON file replaced atomically."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def save(self, predefined: dict[str, str], networks: list[tuple[UserNetwork, bool]]) -> None:
        data = {"predefined": predefined,
                "networks": [{"record": to_api(n.record), "bridge": n.bridge_name, "ready": ready,
                              "subnet_given": n.subnet_given} for n, ready in networks]}
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class UserNetworks:
    """The user-defined networks of a daemon, their drivers, and the ids of the
    predefined ones."""

    def __init__(self, config: "DaemonConfig", isolation: str) -> None:
        self.config = config
        self.isolation = isolation
        self.store = NetworkStore(config.path("networks.json"))
        self.networks: dict[str, UserNetwork] = {}
        self.predefined: dict[str, str] = {}
        self.created: dict[str, str] = {}

    # --- life cycle ----------------------------------------------------------
    async def open(self) -> None:
        data = self.store.load()
        self.predefined = dict(data.get("predefined") or {})
        for name in PREDEFINED:
            self.predefined.setdefault(name, new_id())
        pending = []
        for saved in data.get("networks") or []:
            network = UserNetwork(from_api(NetworkRecord, saved["record"]), saved["bridge"],
                                  subnet_given=bool(saved.get("subnet_given")))
            if not saved.get("ready"):
                pending.append(network)
                continue
            self.networks[network.record.id] = network
            try:
                network.driver = await self._open_driver(network)
            except NetworkError as exc:
                log.error("network %s: %s (it stays, without a bridge, until removed)",
                          network.record.name, exc)
        for network in pending:   # a create that a crash cut short
            log.info("removing half-made network %s (bridge %s)", network.record.name, network.bridge_name)
            await self._remove_leftovers(network)
        self._save()

    def _bridge_config(self, network: UserNetwork) -> BridgeConfig:
        record, config = network.record, self.config
        pool = record.ipam.config[0]
        prefix = IPv4Network(pool.subnet).prefixlen
        options = record.options
        return BridgeConfig(
            name=network.bridge_name, bip=f"{pool.gateway}/{prefix}", fixed_cidr=pool.ip_range or "",
            mtu=int(options.get(MTU_OPTION) or config.mtu), ip_forward=config.ip_forward,
            iptables=config.iptables, icc=_option_bool(options, ICC_OPTION, True),
            ip_masq=config.ip_masq and _option_bool(options, MASQ_OPTION, True),
            userland_proxy=config.userland_proxy, state_dir=config.exec_root, internal=record.internal,
            isolation_chain=self.isolation if config.iptables else "",
            reserved=tuple(a for a in (pool.auxiliary_addresses or {}).values()))

    async def _open_driver(self, network: UserNetwork, fresh: bool = False) -> BridgeNetwork:
        config = self._bridge_config(network)
        driver = BridgeNetwork(dataclasses.replace(config, fresh=fresh))
        await driver.open()
        return driver

    async def _remove_leftovers(self, network: UserNetwork) -> None:
        """The bridge and rules of a network whose create did not finish."""
        netlink = Netlink()
        try:
            index = await netlink.index_of(network.bridge_name)
            if index is not None:
                await netlink.delete_link(index)
        finally:
            netlink.close()
        if self.config.iptables and iptables.available():
            try:
                await Firewall(network.bridge_name, network.subnet, isolation=self.isolation).teardown()
            except (iptables.IptablesError, ValueError) as exc:
                log.error("rules of network %s: %s", network.record.name, exc)

    def _save(self, pending: UserNetwork | None = None) -> None:
        entries = [(n, True) for n in self.networks.values()]
        if pending is not None:
            entries.append((pending, False))
        self.store.save(self.predefined, entries)

    async def shutdown(self) -> None:
        for network in self.networks.values():
            if network.driver is not None:
                await network.driver.shutdown()
                network.driver = None

    async def detach(self) -> None:
        for network in self.networks.values():
            if network.driver is not None:
                await network.driver.detach()
                network.driver = None

    async def drop_kept(self) -> None:
        for network in self.networks.values():
            if network.driver is not None:
                await network.driver.drop_kept()

    # --- lookups -------------------------------------------------------------
    def lookup(self, ref: str) -> UserNetwork | None:
        """By full id, name, or a unique id prefix (Docker's order)."""
        if ref in self.networks:
            return self.networks[ref]
        for network in self.networks.values():
            if network.record.name == ref:
                return network
        if ref:
            found = [n for n in self.networks.values() if n.record.id.startswith(ref)]
            if len(found) == 1:
                return found[0]
        return None

    def by_name(self, name: str) -> UserNetwork | None:
        for network in self.networks.values():
            if network.record.name == name:
                return network
        return None

    # --- create and remove ---------------------------------------------------
    async def create(self, request: NetworkCreateRequest) -> UserNetwork:
        record, subnet_given = await self._check(request)
        bridge_name = record.options.get(BRIDGE_NAME_OPTION) or "pyb" + record.id[:12]
        network = UserNetwork(record, bridge_name, subnet_given=subnet_given)
        self._save(pending=network)   # a crash from here on leaves a record to sweep
        try:
            network.driver = await self._open_driver(network, fresh=True)
            crash_point("network-bridge-made")   # the record says pending: swept at start-up
        except NetworkSetupError as exc:
            await self._remove_leftovers(network)
            self._save()
            raise _setup_error(str(exc)) from None
        except BaseException:
            await self._remove_leftovers(network)
            self._save()
            raise
        self.networks[record.id] = network
        self._save()
        return network

    async def _check(self, request: NetworkCreateRequest) -> tuple[NetworkRecord, bool]:
        """The record a create request asks for: every field honoured or refused."""
        name = request.name
        if not name:
            raise BadRequest("network name is required (Name)")
        if not VALID_NAME.match(name) or name.startswith("/"):
            raise BadRequest(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if name in PREDEFINED:
            raise Forbidden(f"{name} is a pre-defined network and cannot be created")
        # Docker 20.10 creates a second network of a name unless CheckDuplicate; a name
        # that names two networks makes every later reference ambiguous, so never.
        if self.by_name(name) is not None:
            raise Conflict(f"network with name {name} already exists")
        driver = request.driver or "bridge"
        if driver in ("host", "null"):
            raise Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise BadRequest(f"network driver {driver!r} is not supported: pyctr has the bridge driver "
                             f"(and the predefined host and none networks)")
        if request.enable_ipv6:
            raise BadRequest("EnableIPv6 is not supported: pyctr's networks are IPv4 only")
        if request.ingress:
            raise BadRequest("Ingress networks are swarm networks: not supported")
        if request.config_only or (request.config_from or {}).get("Network"):
            raise BadRequest("ConfigOnly and ConfigFrom networks are not supported")
        if request.scope not in ("", "local"):
            raise BadRequest(f"network scope {request.scope!r} is not supported: only local")
        options = dict(request.options or {})
        for key in options:
            if key not in HONOURED_OPTIONS:
                raise BadRequest(f"bridge driver option {key!r} is not supported (supported: "
                                 f"{', '.join(HONOURED_OPTIONS)})")
        bridge_name = options.get(BRIDGE_NAME_OPTION, "")
        if BRIDGE_NAME_OPTION in options:
            if not valid_bridge_name(bridge_name):
                raise BadRequest(f"invalid {BRIDGE_NAME_OPTION} {bridge_name!r}: 1 to 15 of [a-zA-Z0-9_.-]")
            if bridge_name == self.config.bridge or any(n.bridge_name == bridge_name for n in self.networks.values()):
                raise Conflict(f"bridge name {bridge_name} is already used by another network")
            if os.path.exists(f"/sys/class/net/{bridge_name}"):
                raise Conflict(f"bridge name {bridge_name}: a link of that name exists on the host")
        for key in (ICC_OPTION, MASQ_OPTION):
            if key in options:
                _option_bool(options, key, True)
        if MTU_OPTION in options:
            try:
                mtu = int(options[MTU_OPTION])
            except ValueError:
                raise BadRequest(f"invalid {MTU_OPTION} {options[MTU_OPTION]!r}") from None
            if not 68 <= mtu <= 65535:
                raise BadRequest(f"invalid {MTU_OPTION} {mtu}: 68 to 65535")
        ipam = request.ipam or IPAM()
        if (ipam.driver or "default") != "default":
            raise BadRequest(f"IPAM driver {ipam.driver!r} is not supported: only default")
        if ipam.options:
            raise BadRequest(f"IPAM options are not supported: {', '.join(sorted(ipam.options))}")
        if len(ipam.config) > 1:
            raise BadRequest("only one IPAM config (one IPv4 subnet) per network is supported")
        asked = ipam.config[0] if ipam.config else IPAMPool()
        pool = await self._pool(asked)
        record = NetworkRecord(name=name, id=new_id(), created=now_rfc3339(), driver="bridge",
                               ipam=IPAM("default", {}, [pool]), internal=request.internal,
                               attachable=request.attachable, options=options,
                               labels=dict(request.labels or {}))
        return record, bool(asked.subnet)

    async def _pool(self, asked: IPAMPool) -> IPAMPool:
        """Subnet, range, gateway and auxiliary addresses checked, or chosen from the pools."""
        taken = await self._taken()
        if asked.subnet:
            try:
                subnet = IPv4Network(asked.subnet)
            except ValueError as exc:
                if ":" in asked.subnet:
                    raise BadRequest(f"invalid subnet {asked.subnet}: IPv6 is not supported") from None
                raise BadRequest(f"invalid subnet {asked.subnet}: {exc}") from None
            if subnet.prefixlen > 30:
                raise BadRequest(f"invalid subnet {subnet}: a network needs at least 4 addresses (/30)")
            for net, what in taken:
                if subnet.overlaps(net):
                    raise Forbidden(f"Pool overlaps with other one on this address space: "
                                    f"{subnet} overlaps {what} {net}")
        else:
            if asked.gateway or asked.ip_range or asked.auxiliary_addresses:
                raise BadRequest("a Gateway, IPRange or AuxiliaryAddresses needs a Subnet")
            try:
                subnet = addrpool.choose(self.pools(), [net for net, _ in taken])
            except addrpool.PoolError as exc:
                raise Forbidden(str(exc)) from None
        gateway = _address_in(asked.gateway, subnet, "gateway") if asked.gateway else subnet.network_address + 1
        ip_range = ""
        if asked.ip_range:
            try:
                rng = IPv4Network(asked.ip_range)
            except ValueError as exc:
                raise BadRequest(f"invalid ip range {asked.ip_range}: {exc}") from None
            if not rng.subnet_of(subnet):
                raise BadRequest(f"invalid ip range {rng}: it is not inside the subnet {subnet}")
            ip_range = str(rng)
        aux = {}
        for key, value in (asked.auxiliary_addresses or {}).items():
            address = _address_in(value, subnet, f"auxiliary address {key}")
            if address == gateway:
                raise BadRequest(f"auxiliary address {key}={address} is the gateway")
            aux[key] = str(address)
        if len(set(aux.values())) != len(aux):
            raise BadRequest("two auxiliary addresses are the same")
        return IPAMPool(subnet=str(subnet), ip_range=ip_range or None, gateway=str(gateway),
                        auxiliary_addresses=aux or None)

    def pools(self) -> list[AddressPool]:
        return [AddressPool.parse(p) for p in self.config.default_address_pools] or list(addrpool.DEFAULT_POOLS)

    async def _taken(self) -> list[tuple[IPv4Network, str]]:
        """What a new network's subnet must not overlap: routes (every bridge of every
        daemon on this host has one), nameservers, this daemon's networks."""
        netlink = Netlink()
        try:
            routes = await host_routes(netlink.ipr)
        finally:
            netlink.close()
        taken = [(net, "the host's route to") for net in routes]
        taken += [(net, "the nameserver") for net in nameservers()]
        taken += [(IPv4Network(n.record.ipam.config[0].subnet), f"network {n.record.name}")
                  for n in self.networks.values()]
        return taken

    async def remove(self, network: UserNetwork) -> None:
        if network.driver is not None and network.driver.endpoints:
            raise Forbidden(f"error while removing network: network {network.record.name} id "
                            f"{network.record.id} has active endpoints")
        if network.driver is not None:
            await network.driver.shutdown()
            network.driver = None
        else:
            await self._remove_leftovers(network)
        crash_point("network-bridge-removed")   # the record is still there: made again at start-up
        del self.networks[network.record.id]
        self._save()


def _setup_error(message: str):
    """A bridge that cannot be made because of what the request asked: 4xx, else 500."""
    if "overlaps" in message or "invalid" in message or "is not" in message:
        return Forbidden(message)
    return ServerError(message)


def _option_bool(options: dict[str, str], key: str, default: bool) -> bool:
    if key not in options:
        return default
    value = str(options[key]).strip().lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    raise BadRequest(f"invalid {key} {options[key]!r}: true or false")


def _address_in(text: str, subnet: IPv4Network, what: str) -> IPv4Address:
    try:
        address = IPv4Address(text)
    except ValueError:
        raise BadRequest(f"invalid {what} {text!r}: not an IPv4 address") from None
    if address not in subnet:
        raise BadRequest(f"invalid {what} {address}: no matching subnet {subnet} (it is outside it)")
    if address in (subnet.network_address, subnet.broadcast_address):
        raise BadRequest(f"invalid {what} {address}: the network or broadcast address of {subnet}")
    return address


# --- what a container asks for -----------------------------------------------------

def check_endpoint(user: UserNetwork, settings: EndpointSettings | None, container_name: str = "") -> EndpointSettings:
    """A container's EndpointSettings for `user` as asked (create's NetworkingConfig or
    connect's EndpointConfig): every field honoured or refused."""
    settings = settings or EndpointSettings()
    aliases = list(settings.aliases or [])
    for alias in aliases:
        if not alias or not VALID_NAME.match(alias) or alias.startswith("/"):
            raise BadRequest(f"invalid network alias {alias!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if aliases.count(alias) > 1:
            raise BadRequest(f"network alias {alias!r} is given twice")
    ipam = settings.ipam_config
    if ipam is not None:
        if ipam.ipv6_address:
            raise BadRequest("IPAMConfig.IPv6Address is not supported: pyctr's networks are IPv4 only")
        if ipam.link_local_ips:
            raise BadRequest("IPAMConfig.LinkLocalIPs is not supported")
        if ipam.ipv4_address:
            if not user.subnet_given:
                raise BadRequest("user specified IP address is supported only when connecting to "
                                 "networks with user configured subnets")
            address = _address_in(ipam.ipv4_address, user.subnet, "IPv4Address")
            pool = user.record.ipam.config[0]
            if str(address) == pool.gateway or str(address) in (pool.auxiliary_addresses or {}).values():
                raise BadRequest(f"invalid IPv4Address {address}: it is reserved on {user.record.name}")
    from .network import parse_link
    links = [f"{l.name}:{l.alias}" for l in (parse_link(t) for t in settings.links or [])]
    if settings.driver_opts:
        raise BadRequest(f"endpoint DriverOpts are not supported: {', '.join(sorted(settings.driver_opts))}")
    return EndpointSettings(ipam_config=ipam if ipam is not None and ipam.ipv4_address else None,
                            links=links or None, aliases=aliases or None, network_id=user.record.id)


def check_create(daemon: "Daemon", mode: str, networking: NetworkingConfig | None) -> dict[str, EndpointSettings] | None:
    """What create's NetworkMode and NetworkingConfig ask for: the container's user-defined
    network (by name) with its aliases, address and links; None for the predefined ones."""
    endpoints = dict((networking.endpoints_config if networking else None) or {})
    if len(endpoints) > 1:
        raise BadRequest("Container cannot be connected to network endpoints: " + ", ".join(endpoints))
    user = daemon.network.user_network_of(mode)
    if user is None:
        if mode not in DEFAULT_BRIDGE_MODES and mode not in ("none", "host") and not mode.startswith("container:"):
            raise NotFound(f"network {mode} not found")
        for name, settings in endpoints.items():
            if settings is None:
                continue
            if settings.aliases:
                raise BadRequest("network-scoped alias is supported only for containers in user defined networks")
            if settings.ipam_config is not None and (settings.ipam_config.ipv4_address or settings.ipam_config.ipv6_address):
                raise BadRequest("user specified IP address is supported on user defined networks only")
            if settings.links:
                raise BadRequest("EndpointsConfig Links are for user-defined networks: use HostConfig.Links "
                                 "on the default bridge")
        return None
    for name in endpoints:
        if daemon.network.user.lookup(name) is not user:
            raise BadRequest(f"EndpointsConfig names {name}, but NetworkMode is {mode}: they must be the same network")
    settings = check_endpoint(user, next(iter(endpoints.values()), None))
    check_unique_aliases(daemon, user, None, settings)
    return {user.record.name: settings}


def check_unique_aliases(daemon: "Daemon", user: UserNetwork, container: "Container",
                         settings: EndpointSettings) -> None:
    """An alias may be shared (that is how a scaled service answers with several records),
    but never be the name of another container on the network: it would hide it."""
    for alias in settings.aliases or []:
        for other in daemon.containers.values():
            if other is container or user.record.name not in (other.record.network_settings.networks or {}):
                continue
            if other.name.lstrip("/") == alias:
                raise Conflict(f"network alias {alias!r} is the name of container {alias} on {user.record.name}")


# --- the jobs ------------------------------------------------------------------------

def _lookup(daemon: "Daemon", ref: str) -> UserNetwork | str:
    """A user network, or the name of a predefined one (by name, id or id prefix)."""
    users = daemon.network.user
    found: UserNetwork | str | None = ref if ref in PREDEFINED else users.lookup(ref)
    if found is None and ref:
        found = next((name for name, net_id in users.predefined.items() if net_id.startswith(ref)), None)
    if found is None or (found == "bridge" and daemon.network.bridge is None):
        raise NotFound(f"network {ref} not found")
    return found


def _predefined_record(daemon: "Daemon", name: str) -> NetworkRecord:
    users = daemon.network.user
    record = NetworkRecord(name=name, id=users.predefined[name], created=_daemon_started(daemon),
                           driver={"bridge": "bridge", "host": "host", "none": "null"}[name])
    if name == "bridge":
        bridge = daemon.network.bridge
        if bridge is not None and bridge.subnet is not None:
            record.ipam.config = [IPAMPool(subnet=str(bridge.subnet), gateway=str(bridge.bridge.gateway))]
            record.options = {"com.docker.network.bridge.default_bridge": "true",
                              "com.docker.network.bridge.enable_icc": str(daemon.config.icc).lower(),
                              "com.docker.network.bridge.enable_ip_masquerade": str(daemon.config.ip_masq).lower(),
                              "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                              "com.docker.network.bridge.name": bridge.name,
                              "com.docker.network.driver.mtu": str(daemon.config.mtu)}
    return record


def _daemon_started(daemon: "Daemon") -> str:
    return datetime.datetime.fromtimestamp(daemon.started_at, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _with_containers(daemon: "Daemon", record: NetworkRecord, driver) -> NetworkRecord:
    """The record with the containers on it now (a copy: the stored one has none)."""
    shown = copy.copy(record)
    shown.containers = {}
    for cid, endpoint in (driver.endpoints.items() if driver is not None else ()):
        container = daemon.containers.get(cid)
        if container is None:
            continue
        settings = (container.record.network_settings.networks or {}).get(record.name)
        shown.containers[cid] = NetworkContainer(
            name=container.name.lstrip("/"), endpoint_id=settings.endpoint_id if settings else "",
            mac_address=endpoint.mac, ipv4_address=f"{endpoint.ip}/{endpoint.prefix_len}" if endpoint.ip else "")
    return shown


def _shown(daemon: "Daemon", found: UserNetwork | str) -> NetworkRecord:
    if isinstance(found, UserNetwork):
        return _with_containers(daemon, found.record, found.driver)
    network = {"bridge": daemon.network.bridge, "host": daemon.network.host, "none": daemon.network.none}[found]
    record = _predefined_record(daemon, found)
    if found == "bridge":
        return _with_containers(daemon, record, network)
    shown = _with_containers(daemon, record, None)
    for cid, (held, _) in daemon.network.endpoints.items():   # host and none give no address
        container = daemon.containers.get(cid)
        if held is network and container is not None:
            shown.containers[cid] = NetworkContainer(name=container.name.lstrip("/"))
    return shown


async def network_create(daemon: "Daemon", job: Job[NetworkCreate]) -> NetworkCreated:
    network = await daemon.network.user.create(job.args.request)
    daemon.events.publish("create", network.record.id, type="network", name=network.record.name)
    return NetworkCreated(network.record.id)


def _all(daemon: "Daemon") -> list[tuple[NetworkRecord, UserNetwork | str]]:
    out: list[tuple[NetworkRecord, UserNetwork | str]] = []
    for name in PREDEFINED:
        if name == "bridge" and daemon.network.bridge is None:
            continue
        out.append((_predefined_record(daemon, name), name))
    out += [(n.record, n) for n in daemon.network.user.networks.values()]
    return out


def _in_use(daemon: "Daemon", found: UserNetwork | str) -> bool:
    if isinstance(found, UserNetwork):
        return bool(found.driver is not None and found.driver.endpoints)
    return True


async def network_list(daemon: "Daemon", job: Job[NetworkList]) -> list[NetworkRecord]:
    filters = job.args.filters.validate(NETWORK_LIST)
    types = filters.one_of("type", ("custom", "builtin"))
    drivers = filters.get("driver")
    scopes = filters.one_of("scope", ("local", "swarm", "global"))
    dangling = filters.boolean("dangling")
    out = []
    for record, found in _all(daemon):
        builtin = not isinstance(found, UserNetwork)
        if types and ("builtin" if builtin else "custom") not in types:
            continue
        if drivers and record.driver not in drivers:
            continue
        if scopes and record.scope not in scopes:
            continue
        if not filters.matches_pattern("name", record.name):
            continue
        if filters.get("id") and not any(record.id.startswith(v) for v in filters.get("id")):
            continue
        if not filters.matches_labels(record.labels):
            continue
        if dangling is not None and (builtin or _in_use(daemon, found)) == dangling:
            continue
        out.append(_shown(daemon, found))
    return out


async def network_inspect(daemon: "Daemon", job: Job[NetworkInspect]) -> NetworkRecord:
    if job.args.scope not in ("", "local"):
        raise NotFound(f"network {job.args.name} not found")
    return _shown(daemon, _lookup(daemon, job.args.name))


async def network_remove(daemon: "Daemon", job: Job[NetworkRemove]) -> None:
    found = _lookup(daemon, job.args.name)
    if not isinstance(found, UserNetwork):
        raise Forbidden(f"{found} is a pre-defined network and cannot be removed")
    await daemon.network.user.remove(found)
    daemon.events.publish("destroy", found.record.id, type="network", name=found.record.name)


async def network_prune(daemon: "Daemon", job: Job[NetworkPrune]) -> NetworkPruneReport:
    filters = job.args.filters.validate(NETWORK_PRUNE)
    until = [timestamp(v, time.time()) for v in filters.get("until")]
    removed = []
    for network in list(daemon.network.user.networks.values()):
        if _in_use(daemon, network) or _configured_by_any(daemon, network):
            continue
        if not filters.matches_prune_labels(network.record.labels):
            continue
        if until and not _created_before(network.record.created, min(until)):
            continue
        await daemon.network.user.remove(network)
        daemon.events.publish("destroy", network.record.id, type="network", name=network.record.name)
        removed.append(network.record.name)
    return NetworkPruneReport(removed or None)


def _configured_by_any(daemon: "Daemon", network: UserNetwork) -> bool:
    """A container (running or not) that is on the network: prune leaves it (Docker's rule)."""
    return any(network.record.name in (c.record.network_settings.networks or {})
               for c in daemon.containers.values())


def _created_before(created: str, limit: float) -> bool:
    return datetime.datetime.fromisoformat(created).timestamp() < limit


async def network_connect(daemon: "Daemon", job: Job[NetworkConnect]) -> None:
    found = _lookup(daemon, job.args.name)
    container = daemon.lookup(job.args.request.container)
    name = container.name.lstrip("/")
    mode = container.record.host_config.network_mode or ""
    if mode == "host" or mode.startswith("container:"):
        raise BadRequest(f"container {name} shares the network namespace of "
                         f"{'the host' if mode == 'host' else mode.split(':', 1)[1]}: it cannot be "
                         f"connected to another network")
    if not isinstance(found, UserNetwork):
        raise BadRequest(f"container {name} cannot be connected to the predefined network {found}: "
                         f"only to user-defined networks")
    if mode == "none":
        raise BadRequest(f"container {name} was made with --network=none: it cannot be connected to a network")
    settings = check_endpoint(found, job.args.request.endpoint_config)
    check_unique_aliases(daemon, found, container, settings)
    async with container.lock:
        networks = dict(container.record.network_settings.networks or {})
        if found.record.name in networks:
            raise Forbidden(f"endpoint with name {name} already exists in network {found.record.name}")
        if container.record.state.paused:
            raise Conflict(f"container {name} is paused: unpause it first")
        container.record.network_settings.networks = {**networks, found.record.name: settings}
        if container.running:
            try:
                await daemon.network.connect_running(container, found)
            except BaseException:
                container.record.network_settings.networks = networks or None
                raise
        daemon.save(container)
    daemon.events.publish("connect", found.record.id, type="network", name=found.record.name,
                          container=container.id)


async def network_disconnect(daemon: "Daemon", job: Job[NetworkDisconnect]) -> None:
    found = _lookup(daemon, job.args.name)
    try:
        container = daemon.lookup(job.args.request.container)
    except NotFound:
        if job.args.request.force and isinstance(found, UserNetwork):
            return   # Force: an endpoint of a container that is gone; none are kept
        raise
    name = container.name.lstrip("/")
    if not isinstance(found, UserNetwork):
        raise BadRequest(f"container {name} cannot be disconnected from the predefined network {found}")
    async with container.lock:
        networks = dict(container.record.network_settings.networks or {})
        if found.record.name not in networks:
            raise Forbidden(f"container {name} is not connected to network {found.record.name}")
        if container.running:
            await daemon.network.disconnect_running(container, found)
        del networks[found.record.name]
        container.record.network_settings.networks = networks or None
        daemon.save(container)
    daemon.events.publish("disconnect", found.record.id, type="network", name=found.record.name,
                          container=container.id)


JOBS = {NetworkCreate: network_create, NetworkList: network_list, NetworkInspect: network_inspect,
        NetworkRemove: network_remove, NetworkPrune: network_prune, NetworkConnect: network_connect,
        NetworkDisconnect: network_disconnect}
