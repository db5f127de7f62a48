"""Where a repository lives: Docker's name rules (`host[:port]/path` is a registry,
anything else is Docker Hub) and which base URLs to try for a registry.

Loopback registries and those given with `--insecure-registry` may be plain HTTP
(HTTPS is still tried first, as Docker does); `--registry-mirror` is tried before
Docker Hub for pulls. With `--default-registry none` an unqualified name never leaves
the machine: asking for Docker Hub's endpoints is refused (NoDefaultRegistry)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..graph import reference
from .errors import NoDefaultRegistry

HUB_INDEX = "docker.io"
HUB_REGISTRY = "https://registry-1.docker.io"
HUB_AUTH_NAMES = ("https://index.docker.io/v1/", "index.docker.io", "docker.io",
                  "registry-1.docker.io", "")


@dataclass(frozen=True)
class RepositoryInfo:
    local_name: str     # as stored in the graph: "127.0.0.1:5000/busybox", "busybox"
    index: str          # "127.0.0.1:5000" or "docker.io"
    remote_name: str    # the path on the registry: "busybox", "library/busybox"

    @property
    def is_hub(self) -> bool:
        return self.index == HUB_INDEX


def split_index(name: str) -> tuple[str, str]:
    """("127.0.0.1:5000", "busybox") for "127.0.0.1:5000/busybox"; docker.io otherwise."""
    name = reference.normalize(name)
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return HUB_INDEX, name


def repository_info(name: str) -> RepositoryInfo:
    """`name` is a repository without tag or digest."""
    local = reference.normalize(name)
    reference.validate_repository(local)
    index, remote = split_index(local)
    if index == HUB_INDEX and "/" not in remote:
        remote = "library/" + remote
    return RepositoryInfo(local, index, remote)


def index_of_server(server: str) -> str:
    """The index a `login`/X-Registry-Auth server address names ("" = Docker Hub)."""
    server = server.strip()
    if server in HUB_AUTH_NAMES or "index.docker.io" in server:
        return HUB_INDEX
    for scheme in ("https://", "http://"):
        server = server.removeprefix(scheme)
    return server.split("/", 1)[0]


@dataclass(frozen=True)
class Endpoint:
    url: str            # scheme://host[:port], no trailing slash
    insecure: bool      # TLS errors tolerated / plain HTTP allowed
    mirror: bool = False


@dataclass
class RegistryConfig:
    insecure: list[str] = field(default_factory=list)   # hosts, host:port or CIDRs
    mirrors: list[str] = field(default_factory=list)    # URLs, for Docker Hub pulls
    default_registry: bool = True                       # False: Docker Hub (and its mirrors) off

    def require_registry(self, index: str, shown: str) -> None:
        """Refuse `shown` (a name as the user gave it) when it names Docker Hub and the
        default registry is off."""
        if index == HUB_INDEX and not self.default_registry:
            raise NoDefaultRegistry(
                f"{shown}: not found, and pyctrd has no default registry (--default-registry none), "
                f"so an unqualified name is never looked up; name the registry, as in "
                f"127.0.0.1:5000/{shown}")

    def is_insecure(self, index: str) -> bool:
        if index.startswith("["):          # [::1]:5000
            host = index[1:].split("]", 1)[0]
        elif index.count(":") == 1:        # host:port
            host = index.rsplit(":", 1)[0]
        else:                              # host, or a bare IPv6 address
            host = index
        if host == "localhost":
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.is_loopback:
            return True
        for entry in self.insecure:
            if entry in (index, host):
                return True
            if address is not None and "/" in entry:
                try:
                    if address in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    continue
        return False

    def endpoints(self, index: str, for_pull: bool = True) -> list[Endpoint]:
        if index == HUB_INDEX:
            if not self.default_registry:   # every way to the Hub (search, login too) passes here
                raise NoDefaultRegistry("pyctrd has no default registry (--default-registry none): "
                                        "Docker Hub is never contacted; name a registry (host[:port]/name)")
            mirrors = [Endpoint(m.rstrip("/"), False, mirror=True) for m in self.mirrors] if for_pull else []
            return mirrors + [Endpoint(HUB_REGISTRY, False)]
        if self.is_insecure(index):
            return [Endpoint(f"https://{index}", True), Endpoint(f"http://{index}", True)]
        return [Endpoint(f"https://{index}", False)]
