"""The address allocator: round-robin, never twice, reserved addresses, --fixed-cidr."""

from ipaddress import IPv4Address, IPv4Network

import pytest

from pyctr.engine.networkdriver.ipam import AddressError, AddressesExhausted, IPAllocator


def test_hands_out_in_order_skipping_the_gateway():
    ipam = IPAllocator(IPv4Network("10.9.0.0/29"), IPv4Address("10.9.0.1"))
    got = [str(ipam.allocate()) for _ in range(5)]
    assert got == ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
    with pytest.raises(AddressesExhausted):
        ipam.allocate()


def test_never_the_same_address_twice_and_released_ones_come_back_last():
    ipam = IPAllocator(IPv4Network("10.9.0.0/29"), IPv4Address("10.9.0.1"))
    a, b = ipam.allocate(), ipam.allocate()
    ipam.release(a)
    following = [ipam.allocate() for _ in range(4)]
    assert a not in following[:3] and following[3] == a    # round robin: a comes back last
    assert len({b, *following}) == 5


def test_fixed_cidr_limits_the_pool_and_must_be_inside_the_subnet():
    ipam = IPAllocator(IPv4Network("10.9.0.0/24"), IPv4Address("10.9.0.1"), IPv4Network("10.9.0.128/30"))
    assert [str(ipam.allocate()) for _ in range(2)] == ["10.9.0.129", "10.9.0.130"]
    with pytest.raises(AddressesExhausted):
        ipam.allocate()
    with pytest.raises(AddressError):
        IPAllocator(IPv4Network("10.9.0.0/24"), IPv4Address("10.9.0.1"), IPv4Network("10.8.0.0/30"))


def test_claim_refuses_reserved_taken_and_foreign_addresses():
    ipam = IPAllocator(IPv4Network("10.9.0.0/24"), IPv4Address("10.9.0.1"))
    ipam.claim("10.9.0.7")
    for bad in ("10.9.0.7", "10.9.0.1", "10.9.0.0", "10.9.0.255", "10.8.0.5"):
        with pytest.raises(AddressError):
            ipam.claim(bad)
    assert ipam.in_use == 1
