"""The rules of one bridge: what Docker 1.2's bridge driver put in iptables, in
chains of the bridge's own (see iptables.py), built as `Rule` values so that each
container's rules can be added and removed in one batch."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import logging

from . import iptables
from .iptables import Rule

log = logging.getLogger("pyctr.network")


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


# Every daemon's isolation chain is named so (daemon/networks.py adds a hash of its data root).
ISOLATION_PREFIX = "PYCTR-ISO-"


@dataclass
class Firewall:
    bridge: str
    subnet: IPv4Network
    icc: bool = True
    ip_masq: bool = True
    hairpin_nat: bool = False   # no userland proxy: DNAT also for 127.0.0.1 and from the bridge
    internal: bool = False      # a network without a way out (nor in): only its own traffic
    # The daemon's chain that drops traffic from one of its bridges to another (Docker's
    # DOCKER-ISOLATION): every bridge adds `-o <bridge> -j DROP` to it, and jumps to it
    # for what leaves the bridge. One chain per daemon, so daemons never touch each other's.
    isolation: str = ""

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
        if self.ip_masq and not self.internal:
            rules.append(Rule("nat", c.post, ("-s", str(self.subnet), "!", "-o", br, "-j", "MASQUERADE")))
        if self.hairpin_nat:   # 127.0.0.1 -> container: the reply must come back to a real address
            rules.append(Rule("nat", c.post, ("-o", br, "-m", "addrtype", "--src-type", "LOCAL",
                                              "-j", "MASQUERADE")))
        if self.isolation:
            rules += [Rule("filter", self.isolation, ("-o", br, "-j", "DROP")),
                      Rule("filter", c.forward, ("-i", br, "!", "-o", br, "-j", self.isolation))]
        if self.internal:
            rules += [Rule("filter", c.forward, ("-i", br, "!", "-o", br, "-j", "DROP")),
                      Rule("filter", c.forward, ("!", "-i", br, "-o", br, "-j", "DROP"))]
        rules += [
            Rule("filter", c.forward, ("-i", br, "!", "-o", br, "-j", "ACCEPT")),
            Rule("filter", c.forward, ("-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                                       "-j", "ACCEPT")),
            Rule("filter", c.forward, ("-i", br, "-o", br, "-j", "ACCEPT" if self.icc else "DROP")),
        ]
        return rules

    async def setup(self, fresh: bool = False) -> None:
        """Remove whatever an earlier run left (`fresh`: a bridge just made for a new network,
        nothing can be left), then install the base rules."""
        if not fresh:
            await self.teardown()
        await iptables.apply(add=self.base_rules(), new_chains=self.chains.tables())
        self.installed = True

    installed: bool = False   # by setup(): teardown knows every rule outside our chains

    async def teardown(self) -> None:
        """Every rule and chain of this bridge, and the jumps to them."""
        if self.installed:   # one batch: the jumps setup() added, our chains (with what is in them)
            outside = [r for r in self.base_rules() if r.chain not in self.chains.all()]
            try:
                await iptables.apply(delete=outside, drop_chains=self.chains.tables())
                self.installed = False
                return
            except iptables.IptablesError as exc:   # changed behind our back: look them up
                log.warning("removing the rules of %s: %s; looking them up", self.bridge, exc)
        self.installed = False
        jumps, present = await iptables.rules_referring_to(self.chains.all())
        # The bridge's line in an isolation chain: ours, or that of a dead daemon whose bridge
        # this is now (a takeover: that daemon's chain must no longer name it).
        jumps += [rule for rule in await iptables.rules_in_chains("filter", ISOLATION_PREFIX)
                  if rule.spec == ("-o", self.bridge, "-j", "DROP")]
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
