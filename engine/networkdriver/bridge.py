"""The bridge driver (Docker 1.2's bridge): one Linux bridge per network, with its own
subnet and address allocator, a veth pair per container, the bridge's iptables chains
(firewall.py), and published ports (a host port held by a socket, a DNAT rule, the
userland proxy). The kernel settings it needs (ip_forward, route_localnet) are set here.

One live pyctrd per bridge (BridgeLock): two daemons on one bridge would delete each
other's veths and rules.

Live restore: each connected endpoint is also written to
`<state_dir>/endpoints/<bridge>/<id>.json` (address, veth, published ports, the
container's netns identity). `open` keeps the endpoints whose namespace still exists
(their veth stays plugged in, their address taken) and `adopt` brings back their
host ports, rules and proxy; `detach` lets go of the bridge without undoing them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network

from . import iptables
from .driver import (NEW_NAMESPACE, Endpoint, EndpointRequest, Network, NetworkError,
                     NetworkSetupError, PortBinding, PortSpec, PublishedPort, netns_of)
from ..lockfiles import PATIENCE, flock_within
from .firewall import Firewall
from .ipam import AddressError, IPAllocator
from .iptables import IptablesError, Rule
from .netlink import Bridge, BridgeError, Netlink, mac_for, valid_bridge_name
from .portallocator import PortAllocator, Reservation
from .proxy import new_proxy

log = logging.getLogger("pyctr.network")


@dataclass(frozen=True)
class BridgeConfig:
    """Docker 1.2's bridge flags, for one bridge network."""
    name: str = ""                 # "": the first free of pyctr0..pyctr9
    bip: str = ""                  # the bridge's address/prefix; "": a free subnet
    fixed_cidr: str = ""           # containers' addresses from this part of the subnet
    mtu: int = 1500
    ip_forward: bool = True
    iptables: bool = True
    icc: bool = True
    ip_masq: bool = True
    userland_proxy: bool = True
    state_dir: str = "/var/run/pyctr"   # where the name of the bridge taken last time is kept
    # user-defined networks (API 1.21+)
    internal: bool = False         # no traffic in or out of the bridge but between its containers
    isolation_chain: str = ""      # the daemon's chain that keeps its bridges apart (firewall.py)
    reserved: tuple[str, ...] = () # addresses never given to containers (IPAM's AuxiliaryAddresses)
    fresh: bool = False            # a new network's: no rules of an earlier run can exist


@dataclass
class Mapping:
    published: PublishedPort
    reservation: Reservation
    proxy: object | None = None


@dataclass
class BridgeEndpoint(Endpoint):
    mappings: list[Mapping] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    veth: str = ""                 # the host end, once connected


class BridgeNetwork(Network):
    driver = "bridge"
    namespace = NEW_NAMESPACE

    def __init__(self, config: BridgeConfig) -> None:
        super().__init__()
        self.config = config
        self.netlink: Netlink | None = None
        self.bridge: Bridge | None = None
        self.ipam: IPAllocator | None = None
        self.firewall: Firewall | None = None
        self.lock: BridgeLock | None = None
        self.ports = PortAllocator()
        self.kept: dict[str, dict] = {}   # saved endpoints of running containers, until adopted

    @property
    def name(self) -> str:
        if self.bridge is not None:
            return self.bridge.name
        return self.config.name or self.driver

    @property
    def subnet(self) -> IPv4Network | None:
        return self.bridge.network if self.bridge is not None else None

    # --- life cycle ------------------------------------------------------------
    async def open(self) -> None:
        if self.bridge is not None:
            return
        config = self.config
        if config.name and not valid_bridge_name(config.name):
            raise NetworkSetupError(f"invalid --bridge {config.name!r}: 1 to 15 of [a-zA-Z0-9_.-]")
        if not 68 <= config.mtu <= 65535:
            raise NetworkSetupError(f"invalid --mtu {config.mtu}: 68 to 65535")
        try:
            bip = IPv4Interface(config.bip) if config.bip else None
            fixed = IPv4Network(config.fixed_cidr) if config.fixed_cidr else None
        except ValueError as exc:
            raise NetworkSetupError(f"invalid --bip or --fixed-cidr: {exc}") from None
        if bip is not None and "/" not in config.bip:
            raise NetworkSetupError(f"--bip {config.bip}: give the prefix length too (e.g. {config.bip}/24)")
        lock = await asyncio.to_thread(BridgeLock.claim, config)   # may wait for a rival's check
        netlink = Netlink()
        try:
            bridge = await netlink.ensure_bridge(lock.name, bip, config.mtu)
            try:
                ipam = IPAllocator(bridge.network, bridge.gateway, fixed)
                for address in config.reserved:
                    ipam.claim(address)
                if bridge.created:
                    lock.mark_created()
                elif lock.created():   # made by a pyctrd that died
                    bridge.created = True
                # We hold the bridge's lock: whatever is plugged into it was left by a dead
                # daemon; the veths of containers that still run stay, for adopt().
                self.kept = self._load_kept(bridge.name)
                keep_veths = {saved["veth"] for saved in self.kept.values()}
                # (a bridge made just now has none: the dump of every link is not needed)
                for index, name in [] if bridge.created else await netlink.ports_of(bridge.index):
                    if name in keep_veths:
                        continue
                    log.info("removing stale veth %s from %s", name, bridge.name)
                    await netlink.delete_link(index)
                for cid, saved in list(self.kept.items()):
                    try:
                        ipam.claim(saved["ip"])
                    except AddressError as exc:
                        log.error("endpoint of %s: %s", cid[:12], exc)
                        del self.kept[cid]
                if config.ip_forward:
                    _enable_ip_forward()
                firewall = None
                if config.iptables:
                    firewall = Firewall(bridge.name, bridge.network, icc=config.icc, ip_masq=config.ip_masq,
                                        hairpin_nat=not config.userland_proxy, internal=config.internal,
                                        isolation=config.isolation_chain)
                    if firewall.hairpin_nat:
                        _sysctl(f"net/ipv4/conf/{bridge.name}/route_localnet", "1")
                    await firewall.setup(fresh=config.fresh and bridge.created)
                    if not config.icc and not _bridge_netfilter():
                        log.warning("--icc=false: bridged traffic does not pass iptables here "
                                    "(load br_netfilter): containers are not isolated")
                elif iptables.available():   # rules an earlier run (with --iptables) left
                    await Firewall(bridge.name, bridge.network, isolation=config.isolation_chain).teardown()
            except BaseException:
                if bridge.created:
                    await netlink.delete_link(bridge.index)
                    lock.unmark_created()
                    lock.disown()
                raise
        except BaseException as exc:
            netlink.close()
            lock.release()
            if isinstance(exc, (BridgeError, IptablesError, AddressError, OSError)):
                raise NetworkSetupError(f"bridge {lock.name}: {exc}") from None
            raise
        log.info("bridge %s %s (%s), iptables %s, icc %s", bridge.name, bridge.address,
                 "made" if bridge.created else "existing", config.iptables, config.icc)
        self.netlink, self.bridge, self.ipam, self.firewall, self.lock = netlink, bridge, ipam, firewall, lock

    async def shutdown(self) -> None:
        """Take down what open() set up: rules, chains, and the bridge if we made it."""
        await self.drop_kept()
        await super().shutdown()
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
            self.lock.disown()
            self.lock.release()
            self.netlink = self.bridge = self.ipam = self.firewall = self.lock = None

    # --- per container -----------------------------------------------------------
    async def allocate(self, request: EndpointRequest) -> BridgeEndpoint:
        """An address, the published ports (host port, DNAT rules, proxy), the link rules:
        all or nothing."""
        if self.bridge is None:
            raise NetworkError(f"network {self.name} is not open")
        if request.id in self.endpoints:   # a failed start left it: start over
            await self.release(self.endpoints[request.id])
        bridge = self.bridge
        try:
            ip = self.ipam.claim(request.ip) if request.ip is not None else self.ipam.allocate()
        except AddressError as exc:
            raise AddressError(f"Cannot allocate an address on {bridge.name}: {exc}") from None
        endpoint = BridgeEndpoint(request.id, bridge.name, self.namespace, ip=ip,
                                  prefix_len=bridge.network.prefixlen, gateway=bridge.gateway,
                                  mac=request.mac or mac_for(ip), ifname=request.ifname,
                                  default_route=request.default_route and not self.config.internal)
        try:
            for binding in request.publish:
                self._publish(endpoint, binding)
            await self._install(endpoint, request, ip)
        except BaseException:
            await self._undo(endpoint, rules_applied=False)
            raise
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def _publish(self, endpoint: BridgeEndpoint, binding: PortBinding,
                 kept: socket.socket | None = None) -> None:
        """Reserve the host port (or take `kept`, its socket from before a restart); the
        rules go to endpoint.rules, the proxy is made, not started."""
        spec = binding.spec
        host_ip = binding.host_ip or "0.0.0.0"
        if kept is not None:
            reservation = self.ports.adopt(spec.proto, host_ip, binding.host_port, kept)
        else:
            reservation = self.ports.reserve(spec.proto, host_ip, binding.host_port)
        mapping = Mapping(PublishedPort(spec, host_ip, reservation.port), reservation)
        endpoint.mappings.append(mapping)
        endpoint.published.append(mapping.published)
        if self.config.userland_proxy:
            mapping.proxy = new_proxy(spec.proto, reservation.sock, (str(endpoint.ip), spec.port))
        if self.firewall is not None:
            endpoint.rules += self.firewall.port_rules(spec.proto, host_ip, reservation.port,
                                                       endpoint.ip, spec.port)

    async def connect(self, endpoint: Endpoint, pid: int) -> None:
        """The container's eth0 on the bridge, with its address and a default route."""
        assert isinstance(endpoint, BridgeEndpoint)
        if self.endpoints.get(endpoint.id) is not endpoint:
            raise NetworkError(f"endpoint {endpoint.id[:12]} is not allocated on {self.name}")
        if netns_of(pid) == netns_of(os.getpid()):   # an eth0 into the host's namespace: never
            raise NetworkError(f"pid {pid} is in the host's network namespace, not one of its own")
        try:
            endpoint.veth = await self.netlink.attach(self.bridge, pid, endpoint.ip, endpoint.ifname,
                                                      endpoint.default_route, endpoint.mac)
            self.save(endpoint, pid)
        except (BridgeError, OSError) as exc:
            raise NetworkError(str(exc)) from None

    async def release(self, endpoint: Endpoint) -> None:
        if self.endpoints.get(endpoint.id) is endpoint:
            del self.endpoints[endpoint.id]
            await self._undo(endpoint, rules_applied=True)
            self._forget_saved(endpoint.id)

    # --- live restore ------------------------------------------------------------
    def _saved_dir(self, bridge_name: str | None = None) -> str:
        return os.path.join(self.config.state_dir, "endpoints", bridge_name or self.name)

    def save(self, endpoint: BridgeEndpoint, pid: int) -> None:
        """Written once the endpoint is connected: what a later daemon needs to adopt it."""
        os.makedirs(self._saved_dir(), exist_ok=True)
        data = {"id": endpoint.id, "ip": str(endpoint.ip), "veth": endpoint.veth, "ifname": endpoint.ifname,
                "mac": endpoint.mac,
                "netns": list(netns_of(pid)), "pid": pid,
                "published": [[p.spec.port, p.spec.proto, p.host_ip, p.host_port] for p in endpoint.published]}
        path = os.path.join(self._saved_dir(), endpoint.id + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(data, f)
        os.replace(path + ".tmp", path)

    def _forget_saved(self, endpoint_id: str, bridge_name: str | None = None) -> None:
        try:
            os.unlink(os.path.join(self._saved_dir(bridge_name), endpoint_id + ".json"))
        except FileNotFoundError:
            pass

    def _load_kept(self, bridge_name: str) -> dict[str, dict]:
        """The saved endpoints whose container's namespace still exists; the rest are removed."""
        kept = {}
        directory = self._saved_dir(bridge_name)
        for name in os.listdir(directory) if os.path.isdir(directory) else []:
            if not name.endswith(".json"):
                continue
            saved = _running_endpoint(os.path.join(directory, name))
            if saved is not None:
                kept[saved["id"]] = saved
            else:
                self._forget_saved(name[:-5], bridge_name)
        return kept

    def port_sockets(self, endpoint_id: str) -> dict[str, int]:
        """The fds of the sockets that hold the endpoint's host ports, by `port_key`: kept
        by something that outlives the daemon, no one else can take a published port
        while no daemon runs (connections wait in the backlog instead)."""
        endpoint = self.endpoints.get(endpoint_id)
        if not isinstance(endpoint, BridgeEndpoint):
            return {}
        return {port_key(m.published.spec.proto, m.published.host_ip, m.published.host_port):
                m.reservation.sock.fileno() for m in endpoint.mappings}

    async def adopt(self, request: EndpointRequest,
                    sockets: dict[str, socket.socket] | None = None) -> BridgeEndpoint | None:
        """The endpoint of a running container an earlier daemon connected, with its host
        ports (on `sockets`, the ones port_sockets gave, where kept), rules and proxy
        back; None if there is none to adopt."""
        sockets = dict(sockets or {})
        saved = self.kept.pop(request.id, None)
        if saved is None or self.bridge is None:
            return None
        bridge = self.bridge
        ip = IPv4Interface(saved["ip"]).ip
        endpoint = BridgeEndpoint(request.id, bridge.name, self.namespace, ip=ip,
                                  prefix_len=bridge.network.prefixlen, gateway=bridge.gateway,
                                  mac=saved.get("mac") or mac_for(ip), veth=saved["veth"],
                                  ifname=saved.get("ifname", "eth0"))
        try:
            for port, proto, host_ip, host_port in saved["published"]:
                kept = sockets.pop(port_key(proto, host_ip, host_port), None)
                self._publish(endpoint, PortBinding(PortSpec(port, proto), host_ip, host_port), kept)
            await self._install(endpoint, request, ip)
        except BaseException:
            await self._undo(endpoint, rules_applied=False)
            self._forget_saved(request.id)
            raise
        finally:
            for sock in sockets.values():
                sock.close()
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    async def drop_kept(self) -> None:
        """Saved endpoints nobody adopted: their veths and addresses go."""
        for cid, saved in list(self.kept.items()):
            del self.kept[cid]
            if self.netlink is not None:
                index = await self.netlink.index_of(saved["veth"])
                if index is not None:
                    await self.netlink.delete_link(index)
            if self.ipam is not None:
                self.ipam.release(saved["ip"])
            self._forget_saved(cid)

    async def detach(self) -> None:
        """pyctrd leaves its containers running (live restore): close the proxies and the
        host ports' sockets (a later daemon binds them again), keep veths, rules, chains,
        the bridge and the saved endpoints."""
        for endpoint in list(self.endpoints.values()):
            for mapping in endpoint.mappings:
                if mapping.proxy is not None:
                    await mapping.proxy.close()
                self.ports.release(mapping.reservation)
        self.endpoints.clear()
        if self.bridge is not None:
            self.netlink.close()
            self.lock.release()
            self.netlink = self.bridge = self.ipam = self.firewall = self.lock = None

    async def _install(self, endpoint, request, ip) -> None:
        """What a new or adopted endpoint needs beyond its ports: link rules (with --icc=false),
        its iptables rules, and the userland proxies of its published ports."""
        if self.firewall is not None and not self.firewall.icc:
            for peer in request.links:
                for spec in peer.ports:
                    endpoint.rules += self.firewall.link_rules(spec.proto, ip, peer.ip, spec.port)
        if endpoint.rules:
            await iptables.apply(add=endpoint.rules)
        for mapping in endpoint.mappings:
            if mapping.proxy is not None:
                await mapping.proxy.start()

    async def _undo(self, endpoint: BridgeEndpoint, rules_applied: bool) -> None:
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
        await self._remove_veth(endpoint)
        if endpoint.ip is not None and self.ipam is not None:
            self.ipam.release(endpoint.ip)

    async def _remove_veth(self, endpoint: BridgeEndpoint) -> None:
        if endpoint.veth and self.netlink is not None:   # usually gone with the namespace
            index = await self.netlink.index_of(endpoint.veth)
            if index is not None:
                await self.netlink.delete_link(index)
        endpoint.veth = ""


def port_key(proto: str, host_ip: str, host_port: int) -> str:
    return f"port:{proto}/{host_ip}/{host_port}"


class BridgeLock:
    """One live pyctrd per bridge. Without a name a daemon takes the first free of
    pyctr0..pyctr9 (the one it had before, first), so daemons started with defaults
    never collide.

    The flock says who runs on the bridge now; `<bridge>.owner` (the owner's state dir)
    says whose containers may still be plugged into it, and outlives a daemon that died
    or left them running (live restore). Another daemon takes such a bridge only once
    none of those containers runs any more, and then cleans up what the dead one left
    (veths, rules; the bridge itself when it goes): a bridge with someone else's running
    containers is never taken, so their veths and rules are never swept from under them."""

    DIR = "/run/pyctr/network"

    def __init__(self, name: str, fd: int) -> None:
        self.name, self.fd = name, fd

    @classmethod
    def claim(cls, config: BridgeConfig) -> "BridgeLock":
        os.makedirs(cls.DIR, exist_ok=True)
        if config.name:
            fd = cls._try(config.name, patience=PATIENCE)
            if fd is None:
                raise NetworkSetupError(
                    f"bridge {config.name} is used by another running pyctrd (pid "
                    f"{cls._holder(config.name)}): give this daemon a --bridge of its own")
            busy = cls._others_running(config.name, config.state_dir)
            if busy:
                os.close(fd)
                raise NetworkSetupError(busy)
            return cls._owned(config, config.name, fd)
        remembered = os.path.join(config.state_dir, "bridge")
        try:
            with open(remembered) as f:
                names = [f.read().strip()]
        except OSError:
            names = []
        skipped = []
        for name in names + [f"pyctr{i}" for i in range(10)]:
            if valid_bridge_name(name) and (fd := cls._try(name)) is not None:
                busy = cls._others_running(name, config.state_dir)
                if busy:
                    os.close(fd)
                    skipped.append(busy)
                    continue
                with open(remembered, "w") as f:
                    f.write(name + "\n")
                return cls._owned(config, name, fd)
        raise NetworkSetupError("pyctr0 to pyctr9 are all used by other daemons (running, or with "
                                "containers still running on them): give a --bridge"
                                + "".join(f"; {why}" for why in skipped))

    @classmethod
    def _owned(cls, config: BridgeConfig, name: str, fd: int) -> "BridgeLock":
        lock = cls(name, fd)
        previous = lock.owner()
        if previous and previous != config.state_dir:
            log.warning("bridge %s: taking it over from the pyctrd of %s, which is gone and has no "
                        "container running on it; removing what it left", name, previous)
        tmp = lock._owner_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"state_dir": config.state_dir, "pid": os.getpid()}, f)
        os.replace(tmp, lock._owner_path())
        return lock

    @classmethod
    def _others_running(cls, name: str, state_dir: str) -> str:
        """Why `name` is not ours to take (another daemon's containers still run on it), or ""."""
        owner = cls(name, -1).owner()
        if not owner or owner == state_dir:
            return ""
        running = alive_endpoints(os.path.join(owner, "endpoints", name))
        if not running:
            return ""
        return (f"bridge {name} still carries {len(running)} running container(s) of the pyctrd of "
                f"{owner} ({', '.join(sorted(c[:12] for c in running))}), which is not running: start that "
                f"daemon again (it adopts them), or stop them; or give this daemon a --bridge of its own")

    @classmethod
    def _try(cls, name: str, patience: float = 0.0) -> int | None:
        path = os.path.join(cls.DIR, f"{name}.lock")
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            if not flock_within(fd, patience):
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

    def _owner_path(self) -> str:
        return os.path.join(self.DIR, f"{self.name}.owner")

    def owner(self) -> str:
        """The state dir of the daemon whose containers may be on the bridge ("" = none)."""
        try:
            with open(self._owner_path()) as f:
                return str(json.load(f).get("state_dir", ""))
        except (OSError, ValueError, AttributeError):
            return ""

    def disown(self) -> None:
        """Nothing of ours is left on the bridge (a full shutdown)."""
        try:
            os.unlink(self._owner_path())
        except FileNotFoundError:
            pass

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


def _running_endpoint(path: str) -> dict | None:
    """A saved endpoint (BridgeNetwork.save) whose container's network namespace still exists."""
    try:
        with open(path) as f:
            saved = json.load(f)
        return saved if list(netns_of(saved["pid"])) == saved["netns"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive_endpoints(directory: str) -> list[str]:
    """The ids of the saved endpoints in `directory` whose containers still run."""
    out = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json") and (saved := _running_endpoint(os.path.join(directory, name))):
            out.append(str(saved.get("id", name[:-5])))
    return out


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
