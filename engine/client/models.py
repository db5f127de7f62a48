"""What the client sends and reads, and how it maps to and from the v1.14 API's JSON.

The request records (`ContainerConfig`, `HostConfig`, ...) are the API's own,
from engine/api/config.py, encoded by its codec for v1.14: Docker 1.2's field
order and nulls (a Go nil slice is JSON null), so a create body from `pyctr run`
reads like the one from `docker run`. The response records here are the
client's view: they decode leniently (missing keys and nulls become defaults,
unknown keys are ignored), since any daemon, of any version, may answer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from ..api.codec import to_api
from ..api.config import ContainerConfig, HostConfig


def _list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else []


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# --- request side ----------------------------------------------------------
# The create/start records are the API's own (engine/api/config.py); what is the
# client's is how Docker 1.2's CLI filled them in.

REQUEST_VERSION = "1.14"   # the API version whose shape the request bodies have


def host_config_body(host_config: HostConfig) -> dict:
    """A HostConfig as Docker 1.2's CLI sent it: empty LxcConf, PortBindings and
    Devices rather than null, "bridge" when no network mode was asked for."""
    filled = dataclasses.replace(
        host_config,
        lxc_conf=host_config.lxc_conf if host_config.lxc_conf is not None else [],  # no lxc driver
        port_bindings=host_config.port_bindings or {},
        devices=host_config.devices or [],
        network_mode=host_config.network_mode or "bridge")
    return to_api(filled, version=REQUEST_VERSION)


def create_body(config: ContainerConfig, host_config: HostConfig | None) -> dict:
    """The POST /containers/create body: the Config fields (Docker 1.2's CLI sent
    empty ExposedPorts, Env and Volumes rather than null) plus `HostConfig`."""
    filled = dataclasses.replace(config, exposed_ports=config.exposed_ports or {},
                                 env=config.env or [], volumes=config.volumes or {})
    body = to_api(filled, version=REQUEST_VERSION)
    if host_config is not None:
        body["HostConfig"] = host_config_body(host_config)
    return body


@dataclass
class AuthConfig:
    username: str = ""
    password: str = ""
    email: str = ""
    server_address: str = ""

    def to_api(self) -> dict:
        return {"username": self.username, "password": self.password,
                "email": self.email, "serveraddress": self.server_address}


# --- response side ---------------------------------------------------------


@dataclass
class Port:
    private_port: int
    public_port: int = 0
    type: str = "tcp"
    ip: str = ""

    @classmethod
    def from_api(cls, data: dict) -> "Port":
        return cls(_int(data.get("PrivatePort")), _int(data.get("PublicPort")),
                   data.get("Type") or "tcp", data.get("IP") or "")


@dataclass
class ContainerSummary:
    """One row of GET /containers/json."""

    id: str
    image: str = ""
    command: str = ""
    created: int = 0
    status: str = ""
    ports: list[Port] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    size_rw: int = 0
    size_root_fs: int = 0

    @classmethod
    def from_api(cls, data: dict) -> "ContainerSummary":
        return cls(
            id=data.get("Id") or "",
            image=data.get("Image") or "",
            command=data.get("Command") or "",
            created=_int(data.get("Created")),
            status=data.get("Status") or "",
            ports=[Port.from_api(p) for p in _list(data.get("Ports")) if isinstance(p, dict)],
            names=[str(n) for n in _list(data.get("Names"))],
            size_rw=_int(data.get("SizeRw")),
            size_root_fs=_int(data.get("SizeRootFs")),
        )


@dataclass
class ImageSummary:
    """One entry of GET /images/json."""

    id: str
    parent_id: str = ""
    repo_tags: list[str] = field(default_factory=list)
    created: int = 0
    size: int = 0
    virtual_size: int = 0
    repo_digests: list[str] = field(default_factory=list)   # "repo@sha256:..." (pulled/pushed)

    @classmethod
    def from_api(cls, data: dict) -> "ImageSummary":
        return cls(
            id=data.get("Id") or "",
            parent_id=data.get("ParentId") or "",
            repo_tags=[str(t) for t in _list(data.get("RepoTags"))] or ["<none>:<none>"],
            created=_int(data.get("Created")),
            size=_int(data.get("Size")),
            virtual_size=_int(data.get("VirtualSize")),
            repo_digests=[str(d) for d in _list(data.get("RepoDigests"))],
        )


@dataclass
class HistoryEntry:
    id: str
    created: int = 0
    created_by: str = ""
    size: int = 0
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: dict) -> "HistoryEntry":
        return cls(data.get("Id") or "", _int(data.get("Created")), data.get("CreatedBy") or "",
                   _int(data.get("Size")), [str(t) for t in _list(data.get("Tags"))])


@dataclass
class Change:
    path: str
    kind: int  # 0 changed, 1 added, 2 deleted

    @classmethod
    def from_api(cls, data: dict) -> "Change":
        return cls(data.get("Path") or "", _int(data.get("Kind")))


@dataclass
class DeleteItem:
    """One line of DELETE /images/(name): either untagged or deleted."""

    untagged: str = ""
    deleted: str = ""

    @classmethod
    def from_api(cls, data: dict) -> "DeleteItem":
        return cls(data.get("Untagged") or "", data.get("Deleted") or "")


@dataclass
class SearchResult:
    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False
    is_automated: bool = False

    @classmethod
    def from_api(cls, data: dict) -> "SearchResult":
        return cls(data.get("name") or "", data.get("description") or "",
                   _int(data.get("star_count")), bool(data.get("is_official")),
                   bool(data.get("is_automated") or data.get("is_trusted")))


@dataclass
class TopResult:
    titles: list[str]
    processes: list[list[str]]

    @classmethod
    def from_api(cls, data: dict) -> "TopResult":
        return cls([str(t) for t in _list(data.get("Titles"))],
                   [[str(c) for c in _list(p)] for p in _list(data.get("Processes"))])


@dataclass
class Version:
    version: str = ""
    api_version: str = ""
    git_commit: str = ""
    go_version: str = ""
    os: str = ""
    arch: str = ""
    kernel_version: str = ""

    @classmethod
    def from_api(cls, data: dict) -> "Version":
        return cls(data.get("Version") or "", data.get("ApiVersion") or "",
                   data.get("GitCommit") or "", data.get("GoVersion") or "",
                   data.get("Os") or "", data.get("Arch") or "", data.get("KernelVersion") or "")


@dataclass
class Info:
    containers: int = 0
    images: int = 0
    driver: str = ""
    driver_status: list[list[str]] = field(default_factory=list)
    execution_driver: str = ""
    kernel_version: str = ""
    operating_system: Optional[str] = None
    debug: bool = False
    n_fd: int = 0
    n_goroutines: int = 0
    n_events_listener: int = 0
    init_path: str = ""
    init_sha1: str = ""
    index_server_address: str = ""
    memory_limit: bool = False
    swap_limit: bool = False
    ipv4_forwarding: bool = False

    @classmethod
    def from_api(cls, data: dict) -> "Info":
        index = data.get("IndexServerAddress") or ""
        if isinstance(index, list):  # the v1.14 doc shows a list, Docker sent a string
            index = index[0] if index else ""
        return cls(
            containers=_int(data.get("Containers")),
            images=_int(data.get("Images")),
            driver=data.get("Driver") or "",
            driver_status=[[str(x) for x in _list(p)] for p in _list(data.get("DriverStatus"))],
            execution_driver=data.get("ExecutionDriver") or "",
            kernel_version=data.get("KernelVersion") or "",
            operating_system=data.get("OperatingSystem"),
            debug=bool(data.get("Debug")),
            n_fd=_int(data.get("NFd")),
            n_goroutines=_int(data.get("NGoroutines")),
            n_events_listener=_int(data.get("NEventsListener")),
            init_path=data.get("InitPath") or "",
            init_sha1=data.get("InitSha1") or "",
            index_server_address=index,
            memory_limit=bool(data.get("MemoryLimit")),
            swap_limit=bool(data.get("SwapLimit")),
            ipv4_forwarding=bool(data.get("IPv4Forwarding")),
        )
