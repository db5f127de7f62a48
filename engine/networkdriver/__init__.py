"""Network drivers (driver.py is the interface): one module per driver, and the
pieces the bridge driver is made of (netlink, ipam, firewall/iptables, ports, proxy)."""

from .bridge import BridgeConfig, BridgeNetwork
from .container import ContainerNetwork
from .driver import Endpoint, EndpointRequest, Network, NetworkError, NetworkSetupError
from .host import HostNetwork
from .none import NoneNetwork

# Every driver, by the name --net gives it; the conformance suite runs against each.
DRIVERS: dict[str, type[Network]] = {
    "bridge": BridgeNetwork,
    "host": HostNetwork,
    "none": NoneNetwork,
    "container": ContainerNetwork,
}

__all__ = ["DRIVERS", "BridgeConfig", "BridgeNetwork", "ContainerNetwork", "Endpoint", "EndpointRequest",
           "HostNetwork", "Network", "NetworkError", "NetworkSetupError", "NoneNetwork"]
