"""Where the daemon is: `-H`, then PYCTR_HOST, then DOCKER_HOST, then the default."""

from __future__ import annotations

import os

from .lightrecord import light_record

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Mapping

DEFAULT_HOST = "unix:///var/run/pyctr.sock"
DEFAULT_TCP_HOST = "127.0.0.1"


class Host(light_record("Host", {"scheme": ..., "path": "", "hostname": "", "port": 0, "tls": False})):
    """A parsed daemon address: scheme "unix" (path: the socket) or "tcp" (hostname,
    port). `tls` stays False until TLS support lands."""

    __slots__ = ()

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        return f"tcp://{self.hostname}:{self.port}"


def resolve(flag: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return flag or environ.get("PYCTR_HOST") or environ.get("DOCKER_HOST") or DEFAULT_HOST


def parse(address: str) -> Host:
    """Parse `unix:///path`, `tcp://host:port`, `host:port`, `:port` or a bare `/path`.

    As Docker's client did, an empty tcp host means 127.0.0.1."""
    address = address.strip()
    if address.startswith("unix://"):
        path = address[len("unix://"):]
        if not path:
            path = DEFAULT_HOST[len("unix://"):]
        return Host("unix", path=path)
    if address.startswith("/"):
        return Host("unix", path=address)
    rest = address[len("tcp://"):] if address.startswith("tcp://") else address
    if "://" in rest:
        raise ValueError(f"Invalid bind address format: {address}")
    rest = rest.rstrip("/")
    hostname, sep, port = rest.rpartition(":")
    if not sep:
        raise ValueError(f"Invalid bind address format: {address} (want tcp://HOST:PORT)")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Invalid bind address format: {address} (bad port {port!r})")
    return Host("tcp", hostname=hostname.strip("[]") or DEFAULT_TCP_HOST, port=int(port))
