"""The rules of one bridge: what Docker 1.2's bridge driver put in iptables, in
chains of the bridge's own (see iptables.py), built as `Rule` values so that each
container's rules can be added and removed in one batch."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from . import iptables
from .iptables import Rule


@dataclass(frozen=True)
class Chains:
    dnat: str
    post: str
    forward: str

    @classmethod
    def of(cls, bridge: str) -> "Chains":
        chains = cls(f"PYCTR-{bridge}", f"PYCTR-POST-{bridge}", f"PYCTR-FWD-{bridge}")
        if max(map(len, (chains.dnat, chains.post, chains.forward))) > iptables.CHAIN_MAX:
            raise ValueError(f"bridge name {bridge!r} is too long for iptables chain names")
        return chains

    def all(self) -> set[str]:
        return {self.dnat, self.post, self.forward}

    def tables(self) -> list[tuple[str, str]]:
        return [("nat", self.dnat), ("nat", self.post), ("filter", self.forward)]


@dataclass
class Firewall:
    bridge: str
    subnet: IPv4Network
    icc: bool = True
    ip_masq: bool = True
    hairpin_nat: bool = False   # no userland proxy: DNAT also for 127.0.0.1 and from the bridge

    def __post_init__(self) -> None:
        self.chains = Chains.of(self.bridge)

    def base_rules(self) -> list[Rule]:
        c, br = self.chains, self.bridge
        local = ("-m", "addrtype", "--dst-type", "LOCAL", "-j", c.dnat)
        rules = [
            Rule("nat", "PREROUTING", local),
            Rule("nat", "OUTPUT", local if self.hairpin_nat else ("!", "-d", "127.0.0.0/8") + local),
            Rule("nat", "POSTROUTING", ("-j", c.post)),
            Rule("filter", "FORWARD", ("-j", c.forward), first=True),
        ]
        if self.ip_masq:
            rules.append(Rule("nat", c.post, ("-s", str(self.subnet), "!", "-o", br, "-j", "MASQUERADE")))
        if self.hairpin_nat:   # 127.0.0.1 -> container: the reply must come back to a real address
            rules.append(Rule("nat", c.post, ("-o", br, "-m", "addrtype", "--src-type", "LOCAL",
                                              "-j", "MASQUERADE")))
        rules += [
            Rule("filter", c.forward, ("-i", br, "!", "-o", br, "-j", "ACCEPT")),
            Rule("filter", c.forward, ("-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                                       "-j", "ACCEPT")),
            Rule("filter", c.forward, ("-i", br, "-o", br, "-j", "ACCEPT" if self.icc else "DROP")),
        ]
        return rules

    async def setup(self) -> None:
        """Remove whatever an earlier run left, then install the base rules."""
        await self.teardown()
        await iptables.apply(add=self.base_rules(), new_chains=self.chains.tables())

    async def teardown(self) -> None:
        """Every rule and chain of this bridge, and the jumps to them."""
        jumps, present = await iptables.rules_referring_to(self.chains.all())
        await iptables.apply(delete=jumps, drop_chains=present)

    # --- per container ---------------------------------------------------
    def port_rules(self, proto: str, host_ip: str, host_port: int,
                   ip: IPv4Address, port: int) -> list[Rule]:
        c, br = self.chains, self.bridge
        dst = () if host_ip in ("", "0.0.0.0") else ("-d", host_ip)
        not_from_bridge = () if self.hairpin_nat else ("!", "-i", br)
        return [
            Rule("nat", c.dnat, ("-p", proto) + dst + ("--dport", str(host_port)) + not_from_bridge +
                 ("-j", "DNAT", "--to-destination", f"{ip}:{port}")),
            Rule("filter", c.forward, ("!", "-i", br, "-o", br, "-p", proto, "-d", str(ip),
                                       "--dport", str(port), "-j", "ACCEPT"), first=True),
        ]

    def link_rules(self, proto: str, parent: IPv4Address, child: IPv4Address, port: int) -> list[Rule]:
        """With --icc=false: the parent may reach the child's exposed port, and back."""
        c, br = self.chains, self.bridge
        return [
            Rule("filter", c.forward, ("-i", br, "-o", br, "-p", proto, "-s", str(parent), "-d", str(child),
                                       "--dport", str(port), "-j", "ACCEPT"), first=True),
            Rule("filter", c.forward, ("-i", br, "-o", br, "-p", proto, "-s", str(child), "-d", str(parent),
                                       "--sport", str(port), "-j", "ACCEPT"), first=True),
        ]
