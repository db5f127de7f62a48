"""The links of the bridge driver (bridge.py) over netlink (pyroute2's AsyncIPRoute, in
the daemon's own event loop): the bridge, its address, the choice of a free subnet, and
each container's veth pair.

A container's veth pair is made in one request with its inner end created directly
in the container's network namespace, named eth0, with the MAC derived from the
address (02:42 + the four address bytes, as Docker 1.2), and its host end already
enslaved to the bridge. So a veth pair never exists half-made, and it disappears
by itself with the container's namespace."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from .netns import netlink_socket_in
from .rtnl import AsyncIPRoute, NetlinkError

log = logging.getLogger("pyctr.network")
# pyroute2 logs every netlink message at DEBUG: too much for pyctrd's --log-level debug.
logging.getLogger("pyroute2").setLevel(logging.WARNING)

IFNAMSIZ = 15
# Never Docker's docker0 default, whether or not a Docker engine runs now.
DOCKER_DEFAULT_SUBNET = IPv4Network("172.17.0.0/16")
# pyctr's own candidates, tried in order; the first that overlaps no route is taken.
CANDIDATES = ["172.30.42.1/16", "172.31.42.1/16", "10.30.42.1/16", "10.31.42.1/16",
              "10.130.42.1/16", "10.131.42.1/16", "192.168.230.1/24", "192.168.231.1/24"]
RT_TABLE_LOCAL = 255


class BridgeError(Exception):
    pass


def valid_bridge_name(name: str) -> bool:
    return 0 < len(name) <= IFNAMSIZ and all(c.isalnum() or c in "-_." for c in name)


def mac_for(ip: IPv4Address) -> str:
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def veth_name() -> str:
    return "pv" + secrets.token_hex(6)[:11]


async def host_routes(ipr: AsyncIPRoute, skip_index: int | None = None) -> list[IPv4Network]:
    """IPv4 destinations routed on this host (default routes and the local table left out)."""
    found = []
    async for route in await ipr.route("dump", family=2):
        if route.get("table") == RT_TABLE_LOCAL or not route.get("dst_len"):
            continue
        if skip_index is not None and route.get("oif") == skip_index:
            continue
        found.append(IPv4Network(f"{route.get('dst')}/{route.get('dst_len')}", strict=False))
    return found


def nameservers(path: str = "/etc/resolv.conf") -> list[IPv4Network]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    try:
                        out.append(IPv4Network(words[1]))
                    except ValueError:
                        pass   # IPv6
    except OSError:
        pass
    return out


def choose_subnet(taken: list[IPv4Network]) -> IPv4Interface:
    """Docker's way: the first candidate that overlaps no route and no nameserver."""
    for text in CANDIDATES:
        candidate = IPv4Interface(text)
        if candidate.network.overlaps(DOCKER_DEFAULT_SUBNET):
            continue
        if not any(candidate.network.overlaps(net) for net in taken):
            return candidate
    raise BridgeError("could not find a free subnet for the bridge: give one with --bip")


def check_bip(bip: IPv4Interface, taken: list[IPv4Network]) -> None:
    if bip.ip in (bip.network.network_address, bip.network.broadcast_address) or bip.network.prefixlen > 30:
        raise BridgeError(f"--bip {bip}: need a host address in a subnet of at least 4 addresses")
    for net in taken:
        if bip.network.overlaps(net):
            raise BridgeError(f"--bip {bip} overlaps the route to {net} on this host")


@dataclass
class Bridge:
    name: str
    index: int
    address: IPv4Interface     # gateway address / prefix
    mtu: int
    created: bool              # by this daemon (so it removes it on shutdown)

    @property
    def gateway(self) -> IPv4Address:
        return self.address.ip

    @property
    def network(self) -> IPv4Network:
        return self.address.network


class Netlink:
    """One netlink connection, and the link operations the bridge driver needs."""

    def __init__(self) -> None:
        self.ipr = AsyncIPRoute()

    def close(self) -> None:
        self.ipr.close()

    async def index_of(self, name: str) -> int | None:
        found = await self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    async def ipv4_addresses(self, index: int) -> list[IPv4Interface]:
        return [IPv4Interface(f"{a.get('address')}/{a.get('prefixlen')}")
                async for a in await self.ipr.addr("dump", family=2, index=index)]

    async def ensure_bridge(self, name: str, bip: IPv4Interface | None, mtu: int) -> Bridge:
        """The bridge `name`, made with `bip` (or a free subnet) when it does not exist."""
        index = await self.index_of(name)
        created = False
        if index is None:
            taken = await host_routes(self.ipr) + nameservers()
            if bip is not None:
                check_bip(bip, taken)
            address = bip or choose_subnet(taken)
            try:
                await self.ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
            except NetlinkError as exc:
                raise BridgeError(f"creating bridge {name}: {exc.args[1] if len(exc.args) > 1 else exc}") from None
            index = await self.index_of(name)
            created = True
            try:
                await self.ipr.addr("add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)
            except BaseException:
                await self.ipr.link("del", index=index)
                raise
        else:
            kind = await self._kind(index)
            if kind != "bridge":
                raise BridgeError(f"{name} exists and is not a bridge (it is a {kind or 'plain'} link)")
            addresses = await self.ipv4_addresses(index)
            if bip is not None:
                if bip not in addresses:
                    if addresses:
                        raise BridgeError(f"bridge {name} has address {addresses[0]}, not --bip {bip}")
                    check_bip(bip, await host_routes(self.ipr, skip_index=index))
                    await self.ipr.addr("add", index=index, address=str(bip.ip), prefixlen=bip.network.prefixlen)
                address = bip
            elif addresses:
                address = addresses[0]
            else:
                address = choose_subnet(await host_routes(self.ipr, skip_index=index) + nameservers())
                await self.ipr.addr("add", index=index, address=str(address.ip),
                                    prefixlen=address.network.prefixlen)
            await self.ipr.link("set", index=index, mtu=mtu)
        await self.ipr.link("set", index=index, state="up")
        return Bridge(name, index, address, mtu, created)

    async def _kind(self, index: int) -> str:
        link = (await self.ipr.link("get", index=index))[0]
        return link.get(("linkinfo", "kind")) or ""

    async def delete_link(self, index: int) -> None:
        try:
            await self.ipr.link("del", index=index)
        except NetlinkError as exc:
            if exc.code != 19:   # ENODEV: gone already
                raise

    async def ports_of(self, bridge_index: int) -> list[tuple[int, str]]:
        """(index, name) of every link enslaved to the bridge."""
        return [(link["index"], link.get("ifname"))
                async for link in await self.ipr.link("dump", master=bridge_index)]

    async def attach(self, bridge: Bridge, pid: int, ip: IPv4Address, ifname: str = "eth0",
                     default_route: bool = True, mac: str = "") -> str:
        """Give the container `pid` its `ifname` on `bridge` with address `ip` and `mac` (else
        one derived from `ip`), and the default route through the bridge for the first network
        of a container that may go out; the host end's name."""
        host_end = veth_name()
        ns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            await self.ipr.link("add", ifname=host_end, kind="veth", master=bridge.index, mtu=bridge.mtu,
                                peer={"ifname": ifname, "net_ns_fd": ns, "address": mac or mac_for(ip),
                                      "mtu": bridge.mtu})
        except NetlinkError as exc:
            raise BridgeError(f"creating the veth pair: {exc.args[1] if len(exc.args) > 1 else exc}") from None
        finally:
            os.close(ns)
        try:
            index = await self.index_of(host_end)
            await self.ipr.link("set", index=index, state="up")
            inner = AsyncIPRoute(fileno=netlink_socket_in(pid))
            try:
                inside = (await inner.link_lookup(ifname=ifname))[0]
                await inner.addr("add", index=inside, address=str(ip), prefixlen=bridge.network.prefixlen)
                await inner.link("set", index=inside, state="up")
                if default_route:
                    await inner.route("add", dst="0.0.0.0/0", gateway=str(bridge.gateway))
            finally:
                inner.close()
        except BaseException:
            idx = await self.index_of(host_end)
            if idx is not None:
                await self.delete_link(idx)
            raise
        return host_end
