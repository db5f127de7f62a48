"""Subnets for user-defined networks created without one: carved out of the daemon's
address pools (Docker's `--default-address-pool base=10.10.0.0/16,size=24`), the first
that overlaps no route of the host (which covers every other daemon's bridges), no
nameserver, and no network of this daemon."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network


class PoolError(ValueError):
    pass


@dataclass(frozen=True)
class AddressPool:
    base: IPv4Network
    size: int          # prefix length of each subnet handed out

    @classmethod
    def parse(cls, text: str) -> "AddressPool":
        """"base=10.10.0.0/16,size=24" (Docker's form)."""
        fields = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in ("base", "size"):
                raise PoolError(f"invalid address pool {text!r}: use base=CIDR,size=N")
            fields[key.strip()] = value.strip()
        if "base" not in fields or "size" not in fields:
            raise PoolError(f"invalid address pool {text!r}: both base= and size= are needed")
        try:
            base = IPv4Network(fields["base"])
            size = int(fields["size"])
        except ValueError as exc:
            raise PoolError(f"invalid address pool {text!r}: {exc}") from None
        if not base.prefixlen <= size <= 30:
            raise PoolError(f"invalid address pool {text!r}: size must be between {base.prefixlen} and 30")
        return cls(base, size)

    def __str__(self) -> str:
        return f"base={self.base},size={self.size}"


# Docker's defaults without 172.17.0.0/16 (docker0's, whether or not a Docker engine runs).
DEFAULT_POOLS = (AddressPool(IPv4Network("172.18.0.0/15"), 16), AddressPool(IPv4Network("172.20.0.0/14"), 16),
                 AddressPool(IPv4Network("172.24.0.0/14"), 16), AddressPool(IPv4Network("172.28.0.0/14"), 16),
                 AddressPool(IPv4Network("192.168.0.0/16"), 20))


def choose(pools: tuple[AddressPool, ...] | list[AddressPool], taken: list[IPv4Network]) -> IPv4Network:
    for pool in pools:
        for subnet in pool.base.subnets(new_prefix=pool.size):
            if not any(subnet.overlaps(net) for net in taken):
                return subnet
    raise PoolError("could not find an available, non-overlapping IPv4 address pool among the "
                    "defaults to assign to the network")
