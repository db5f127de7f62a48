"""The bridge's rules in the real iptables (nf_tables): chains named after the bridge,
jumps from the built-in chains, per-container rules added and removed in one batch,
teardown of everything, and nothing of anyone else's touched."""

from __future__ import annotations

import asyncio
import subprocess
from ipaddress import IPv4Address, IPv4Interface

import pytest

from pyctr.engine.networkdriver import iptables
from pyctr.engine.networkdriver.firewall import Chains, Firewall
from pyctr.engine.networkdriver.iptables import IptablesError, Rule


def save(table: str) -> list[str]:
    out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True, check=True).stdout
    return [l for l in out.splitlines() if not l.startswith("#")]


def others(table: str) -> list[str]:
    """Rules that are not any pyctr daemon's (other tests may run daemons meanwhile)."""
    return [l.split(" [")[0] for l in save(table) if "PYCTR" not in l and not l.startswith(":PYCTR")]


def ours(table: str, bridge: str) -> list[str]:
    return [l for l in save(table) if f"-{bridge}" in l or bridge in l.split()]


def test_chain_names_fit_iptables():
    assert Chains.of("a" * 15).post == "PYCTR-POST-" + "a" * 15
    with pytest.raises(ValueError):
        Chains.of("a" * 20)


def test_setup_is_idempotent_and_teardown_removes_everything(testnet):
    fw = Firewall(testnet.bridge, IPv4Interface(testnet.bip).network, icc=False)
    before = {t: others(t) for t in ("nat", "filter")}
    asyncio.run(fw.setup())
    asyncio.run(fw.setup())   # as after a crash: no duplicate jumps
    nat, flt = ours("nat", testnet.bridge), ours("filter", testnet.bridge)
    assert sum(l.startswith("-A PREROUTING") for l in nat) == 1
    assert sum(l.startswith("-A FORWARD") for l in flt) == 1
    assert any("MASQUERADE" in l for l in nat)
    assert any(f"-i {testnet.bridge} -o {testnet.bridge} -j DROP" in l for l in flt)   # --icc=false
    assert others("nat") == before["nat"] and others("filter") == before["filter"]
    asyncio.run(fw.teardown())
    assert ours("nat", testnet.bridge) == [] and ours("filter", testnet.bridge) == []
    assert others("nat") == before["nat"] and others("filter") == before["filter"]


def test_port_and_link_rules_come_and_go_in_one_batch(testnet):
    net = IPv4Interface(testnet.bip).network
    fw = Firewall(testnet.bridge, net)
    ip, other = IPv4Address(int(net.network_address) + 2), IPv4Address(int(net.network_address) + 3)
    asyncio.run(fw.setup())
    try:
        rules = fw.port_rules("tcp", "127.0.0.1", 49999, ip, 80) + fw.link_rules("tcp", other, ip, 80)
        asyncio.run(iptables.apply(add=rules))
        nat = ours("nat", testnet.bridge)
        assert any(f"--dport 49999" in l and f"--to-destination {ip}:80" in l for l in nat)
        flt = ours("filter", testnet.bridge)
        assert sum(f"-s {other}/32 -d {ip}/32" in l for l in flt) == 1
        # first=True rules go in front of the icc rule
        chain = [l for l in flt if l.startswith(f"-A {fw.chains.forward}")]
        assert len(chain) == 6 and all("port 80" in l for l in chain[:3])
        assert chain[-1].endswith(f"-i {testnet.bridge} -o {testnet.bridge} -j ACCEPT")
        asyncio.run(iptables.apply(delete=rules))
        assert not any("49999" in l for l in ours("nat", testnet.bridge))
        assert not any(str(other) in l for l in ours("filter", testnet.bridge))
    finally:
        asyncio.run(fw.teardown())


def test_a_failing_batch_changes_nothing(testnet):
    fw = Firewall(testnet.bridge, IPv4Interface(testnet.bip).network)
    asyncio.run(fw.setup())
    try:
        good = Rule("nat", fw.chains.dnat, ("-p", "tcp", "--dport", "1", "-j", "RETURN"))
        bad = Rule("nat", fw.chains.dnat, ("-p", "tcp", "--dport", "notaport", "-j", "RETURN"))
        with pytest.raises(IptablesError):
            asyncio.run(iptables.apply(add=[good, bad]))
        assert not any("--dport 1 " in l + " " for l in ours("nat", testnet.bridge))
    finally:
        asyncio.run(fw.teardown())
