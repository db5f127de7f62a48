"""The bridge over real netlink: made with --bip, found again, refused when it does not
match; a free subnet chosen around the host's routes; a veth pair straight into a
network namespace (eth0, address, MAC from the address, default route), and gone
with the namespace."""

from __future__ import annotations

import asyncio
import subprocess
import time
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from pyctr.engine.networkdriver.netlink import (BridgeError, DOCKER_DEFAULT_SUBNET, Netlink, check_bip,
                                               choose_subnet, mac_for, valid_bridge_name)
from .conftest import in_netns
from harness import link_exists


def test_mac_from_the_address_as_docker():
    assert mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def test_bridge_names():
    assert valid_bridge_name("pyctr0") and valid_bridge_name("a" * 15)
    assert not valid_bridge_name("a" * 16) and not valid_bridge_name("") and not valid_bridge_name("a b")


def test_choose_subnet_avoids_routes_and_dockers_default():
    first = choose_subnet([])
    assert not first.network.overlaps(DOCKER_DEFAULT_SUBNET)
    second = choose_subnet([first.network])
    assert second.network != first.network
    assert not second.network.overlaps(first.network)
    everything = [IPv4Network("0.0.0.0/1"), IPv4Network("128.0.0.0/1")]
    with pytest.raises(BridgeError, match="--bip"):
        choose_subnet(everything)


def test_check_bip():
    check_bip(IPv4Interface("10.77.0.1/24"), [IPv4Network("10.78.0.0/16")])
    with pytest.raises(BridgeError, match="overlaps"):
        check_bip(IPv4Interface("10.77.0.1/24"), [IPv4Network("10.77.0.0/16")])
    with pytest.raises(BridgeError):
        check_bip(IPv4Interface("10.77.0.0/24"), [])     # the network address itself


def test_bridge_made_found_again_and_refused_with_another_bip(testnet):
    bip = IPv4Interface(testnet.bip)

    async def main():
        nl = Netlink()
        try:
            made = await nl.ensure_bridge(testnet.bridge, bip, 1400)
            assert made.created and made.address == bip and made.mtu == 1400
            again = await nl.ensure_bridge(testnet.bridge, None, 1400)
            assert not again.created and again.index == made.index and again.address == bip
            other = IPv4Interface(f"{bip.network.network_address + 2}/{bip.network.prefixlen}")
            with pytest.raises(BridgeError, match="not --bip"):
                await nl.ensure_bridge(testnet.bridge, other, 1400)
            await nl.delete_link(made.index)
            await nl.delete_link(made.index)     # gone already: no error
        finally:
            nl.close()

    asyncio.run(main())
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert testnet.bridge not in out


def test_an_existing_link_that_is_not_a_bridge_is_refused(testnet):
    subprocess.run(["ip", "link", "add", testnet.bridge, "type", "veth", "peer", "name", testnet.bridge + "p"],
                   check=True)
    try:
        async def main():
            nl = Netlink()
            try:
                await nl.ensure_bridge(testnet.bridge, IPv4Interface(testnet.bip), 1500)
            finally:
                nl.close()
        with pytest.raises(BridgeError, match="not a bridge"):
            asyncio.run(main())
    finally:
        subprocess.run(["ip", "link", "del", testnet.bridge], check=False)


def test_veth_into_a_namespace_and_gone_with_it(testnet, netns_process):
    bip = IPv4Interface(testnet.bip)
    first, second = IPv4Address(int(bip.ip) + 1), IPv4Address(int(bip.ip) + 2)
    pid_a, pid_b = netns_process(), netns_process()

    async def main():
        nl = Netlink()
        try:
            bridge = await nl.ensure_bridge(testnet.bridge, bip, 1500)
            veth_a = await nl.attach(bridge, pid_a, first)
            veth_b = await nl.attach(bridge, pid_b, second)
            plugged = {name for _, name in await nl.ports_of(bridge.index)}
            return bridge, veth_a, veth_b, plugged
        finally:
            nl.close()

    bridge, veth_a, veth_b, plugged = asyncio.run(main())
    # As pyctrd's bridges do: traffic within the bridge is accepted even where a policy of
    # FORWARD DROP (a dockerd's) applies to bridged frames (br_netfilter loaded).
    within = ["FORWARD", "-i", bridge.name, "-o", bridge.name, "-j", "ACCEPT"]
    subprocess.run(["iptables", "-I", *within], check=True)
    try:
        assert plugged == {veth_a, veth_b}
        addr = in_netns(pid_a, "ip", "-o", "-4", "addr", "show", "eth0")
        assert f"inet {first}/{bip.network.prefixlen}" in addr
        link = in_netns(pid_a, "ip", "-o", "link", "show", "eth0")
        assert mac_for(first) in link and "UP" in link
        assert f"default via {bip.ip} dev eth0" in in_netns(pid_a, "ip", "route")
        # one namespace reaches the other across the bridge (both made by this test)
        ping = subprocess.run(["nsenter", "-t", str(pid_a), "-n", "busybox", "ping", "-c", "1", "-W", "2", str(second)],
                              capture_output=True, text=True)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        subprocess.run(["kill", "-9", str(pid_a), str(pid_b)], check=True)
        deadline = time.monotonic() + 10     # namespaces are torn down asynchronously
        while any(link_exists(v) for v in (veth_a, veth_b)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(link_exists(v) for v in (veth_a, veth_b))
    finally:
        subprocess.run(["iptables", "-D", *within], check=False)
        subprocess.run(["ip", "link", "del", bridge.name], check=False)
