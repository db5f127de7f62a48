"""Addresses for containers out of the bridge's subnet (Docker 1.2's ipallocator).

Addresses are handed out round-robin (the next free one after the last given),
so a released address is not reused at once while other containers may still
hold it in their ARP caches. The network, broadcast and gateway addresses are
never given."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network


class AddressError(Exception):
    """Bad request for an address: out of range, in use, or none left."""


class AddressesExhausted(AddressError):
    pass


class IPAllocator:
    def __init__(self, network: IPv4Network, gateway: IPv4Address,
                 fixed_cidr: IPv4Network | None = None) -> None:
        if fixed_cidr is not None and not fixed_cidr.subnet_of(network):
            raise AddressError(f"fixed CIDR {fixed_cidr} is not inside the bridge's subnet {network}")
        self.network = network
        self.pool = fixed_cidr or network
        self._first = int(self.pool.network_address)
        self._last = int(self.pool.broadcast_address)
        if self.pool.prefixlen < 31:  # a /31 or /32 has no network/broadcast address
            self._first += 1
            self._last -= 1
        self._reserved = {int(network.network_address), int(network.broadcast_address), int(gateway)}
        self._used: set[int] = set()
        self._next = self._first

    @property
    def in_use(self) -> int:
        return len(self._used)

    def allocate(self) -> IPv4Address:
        size = self._last - self._first + 1
        for step in range(max(size, 0)):
            candidate = self._first + (self._next - self._first + step) % size
            if candidate not in self._used and candidate not in self._reserved:
                self._used.add(candidate)
                self._next = candidate + 1 if candidate < self._last else self._first
                return IPv4Address(candidate)
        raise AddressesExhausted(f"no free address left in {self.pool}")

    def claim(self, address: IPv4Address | str) -> IPv4Address:
        """Mark a given address used (one a container already holds)."""
        address = ipaddress.IPv4Address(address)
        value = int(address)
        if address not in self.network or value in self._reserved:
            raise AddressError(f"{address} is not an address for containers in {self.network}")
        if value in self._used:
            raise AddressError(f"{address} is already in use")
        self._used.add(value)
        return address

    def release(self, address: IPv4Address | str) -> None:
        self._used.discard(int(ipaddress.IPv4Address(address)))
