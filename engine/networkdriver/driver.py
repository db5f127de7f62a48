"""The network driver interface: how a container's network namespace is filled.

A driver is a kind of network (bridge, host, none, container:); a `Network` is one
instance of it, with its own subnet where it hands out addresses (the daemon has one
bridge network today; user-defined networks will be more instances). A network's
life cycle, all of it async and on the daemon's event loop:

  open        make what the network needs on the host (idempotent)
  allocate    reserve an endpoint for one container: address, published ports,
              rules. All or nothing: a refused allocation leaves nothing behind
  connect     the container's namespace exists (the exec driver made it as
              `namespace` says, its process waits): put the endpoint into it
  release     give back all of an endpoint, whether or not its namespace is still
              there (idempotent)
  shutdown    release every endpoint left and undo open (idempotent)

A driver never knows about containers' records, HTTP or jobs: the daemon turns a
container into an `EndpointRequest` and an `Endpoint` into NetworkSettings.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network


class NetworkError(Exception):
    """A network operation was refused or failed; the message says why."""


class NetworkSetupError(NetworkError):
    """A network cannot be opened (bad flags, a taken subnet or bridge, ...)."""


# What the exec driver makes for a container, as execdriver.Network's modes: a new
# namespace (that connect fills, or leaves with only lo), the host's, or another
# process's (EndpointRequest.join_pid).
NEW_NAMESPACE = "new"
HOST_NAMESPACE = "host"
JOINED_NAMESPACE = "join"


@dataclass(frozen=True)
class PortSpec:
    port: int
    proto: str       # "tcp" | "udp"

    @property
    def key(self) -> str:
        return f"{self.port}/{self.proto}"


@dataclass(frozen=True)
class PortBinding:
    """Publish the container's `spec` port on a host port (0: any free one)."""
    spec: PortSpec
    host_ip: str = "0.0.0.0"
    host_port: int = 0


@dataclass(frozen=True)
class PublishedPort:
    spec: PortSpec
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class LinkPeer:
    """A container this one links to: with --icc=false only its exposed ports are open."""
    ip: IPv4Address
    ports: tuple[PortSpec, ...] = ()


@dataclass
class EndpointRequest:
    id: str                                      # the container's id
    publish: list[PortBinding] = field(default_factory=list)
    links: list[LinkPeer] = field(default_factory=list)
    join_pid: int = 0                            # the container: driver's other container
    ip: IPv4Address | None = None                # an address asked for (--ip); None: the next free
    ifname: str = "eth0"                         # the interface's name in the container
    default_route: bool = True                   # through this network's gateway
    mac: str = ""                                # --mac-address; "" = one derived from the address


@dataclass
class Endpoint:
    """What one container holds of a network."""
    id: str
    network: str                                 # Network.name
    namespace: str                               # NEW_NAMESPACE, HOST_NAMESPACE, JOINED_NAMESPACE
    ip: IPv4Address | None = None
    prefix_len: int = 0
    gateway: IPv4Address | None = None
    mac: str = ""
    published: list[PublishedPort] = field(default_factory=list)
    join_pid: int = 0
    ifname: str = "eth0"
    default_route: bool = True


class Network(abc.ABC):
    driver: str = ""          # the name of the driver, as --net names it
    namespace: str = NEW_NAMESPACE

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}   # by id, the ones allocated and not released

    @property
    def name(self) -> str:
        """What the network is called (the bridge's name for the bridge driver)."""
        return self.driver

    @property
    def subnet(self) -> IPv4Network | None:
        """Where the network's addresses come from; None for drivers that give none."""
        return None

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def allocate(self, request: EndpointRequest) -> Endpoint:
        """NetworkError (or a port, address or iptables error) when refused; an id that is
        allocated already is released first."""

    @abc.abstractmethod
    async def connect(self, endpoint: Endpoint, pid: int) -> None:
        """Fill the namespace of `pid`; NetworkError if it is not the one promised."""

    @abc.abstractmethod
    async def release(self, endpoint: Endpoint) -> None: ...

    async def shutdown(self) -> None:
        for endpoint in list(self.endpoints.values()):
            await self.release(endpoint)


def netns_of(pid: int | str) -> tuple[int, int]:
    """The identity (device, inode) of a process's network namespace."""
    st = os.stat(f"/proc/{pid}/ns/net")
    return st.st_dev, st.st_ino
