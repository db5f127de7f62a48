"""pyroute2's AsyncIPRoute and NetlinkError, without the rest of pyroute2: its package
`__init__` only re-exports its whole API (NDB, IPDB, conntrack, nl80211, wireguard,
plan9, ...), which would stay resident in pyctrd for nothing (barepackage.py)."""

from __future__ import annotations

from .. import barepackage

barepackage.register("pyroute2")

from pyroute2.iproute.linux import AsyncIPRoute  # noqa: E402
from pyroute2.netlink.exceptions import NetlinkError  # noqa: E402

__all__ = ["AsyncIPRoute", "NetlinkError"]
