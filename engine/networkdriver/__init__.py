"""Network drivers (driver.py is the interface): one module per driver, and the
pieces the bridge driver is made of (netlink, ipam, firewall/iptables, ports, proxy).

The package itself imports nothing: pyctrd parses `--default-address-pool` with
addrpool.py before its first answer, and the drivers (pyroute2 among them) come only
with the daemon. The names below are looked up on first use."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"BridgeConfig": "bridge", "BridgeNetwork": "bridge", "ContainerNetwork": "container",
          "Endpoint": "driver", "EndpointRequest": "driver", "Network": "driver",
          "NetworkError": "driver", "NetworkSetupError": "driver", "HostNetwork": "host",
          "NoneNetwork": "none"}


def __getattr__(name: str) -> Any:
    if name == "DRIVERS":
        # Every driver, by the name --net gives it; the conformance suite runs against each.
        return {"bridge": __getattr__("BridgeNetwork"), "host": __getattr__("HostNetwork"),
                "none": __getattr__("NoneNetwork"), "container": __getattr__("ContainerNetwork")}
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = ["DRIVERS", *_WHERE]
