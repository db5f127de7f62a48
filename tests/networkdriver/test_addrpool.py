"""The daemon's address pools (`--default-address-pool base=CIDR,size=N`)."""

from ipaddress import IPv4Network

import pytest

from pyctr.engine.networkdriver.addrpool import DEFAULT_POOLS, AddressPool, PoolError, choose


def test_parse_docker_form():
    pool = AddressPool.parse("base=10.10.0.0/16,size=24")
    assert pool == AddressPool(IPv4Network("10.10.0.0/16"), 24) and str(pool) == "base=10.10.0.0/16,size=24"


@pytest.mark.parametrize("text", ["10.10.0.0/16", "base=10.10.0.0/16", "base=10.10.0.0/16,size=8",
                                  "base=10.10.0.0/16,size=31", "base=10.10.0.300/16,size=24",
                                  "base=10.10.0.0/16,size=x", "base=10.10.0.0/16,size=24,x=1"])
def test_bad_pools_are_refused(text):
    with pytest.raises(PoolError):
        AddressPool.parse(text)


def test_choose_skips_what_is_taken():
    pools = [AddressPool.parse("base=10.10.0.0/22,size=24")]
    taken = [IPv4Network("10.10.0.0/24"), IPv4Network("10.10.1.128/25")]
    assert choose(pools, taken) == IPv4Network("10.10.2.0/24")
    with pytest.raises(PoolError):
        choose(pools, taken + [IPv4Network("10.10.2.0/23")])


def test_defaults_never_give_docker0s_subnet():
    docker0 = IPv4Network("172.17.0.0/16")
    assert not any(pool.base.overlaps(docker0) for pool in DEFAULT_POOLS)
