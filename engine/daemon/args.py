"""The typed arguments of the daemon's jobs: what the server hands each handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from ..api.config import ContainerConfig, HostConfig
from .events import EventFilter


@dataclass
class ImageImport:
    source: str                      # "-" for the request body, else a URL
    repository: str = ""
    tag: str = ""
    body: BinaryIO | None = None     # a blocking reader, used from a worker thread


@dataclass
class ImageRef:
    name: str


@dataclass
class ImageList:
    all: bool = False
    dangling: bool | None = None     # the `dangling` filter, when given
    repository: str = ""             # the `filter` parameter (a repository name)


@dataclass
class ImageTag:
    name: str
    repository: str
    tag: str = ""
    force: bool = False


@dataclass
class ImageDelete:
    name: str
    force: bool = False
    noprune: bool = False


@dataclass
class ContainerCreate:
    config: ContainerConfig
    host_config: HostConfig
    name: str = ""


@dataclass
class ContainerRef:
    name: str


@dataclass
class ContainerStart:
    name: str
    host_config: HostConfig | None = None  # old clients send it with start


@dataclass
class ContainerStop:
    name: str
    timeout: int = 10


@dataclass
class ContainerKill:
    name: str
    signal: str = "KILL"


@dataclass
class ContainerRename:
    name: str
    new_name: str


@dataclass
class ContainerRemove:
    name: str
    force: bool = False
    volumes: bool = False
    link: bool = False


@dataclass
class ContainerList:
    all: bool = False
    limit: int = -1
    since: str = ""
    before: str = ""
    size: bool = False
    exited: int | None = None        # filters={"exited": [...]}
    status: str = ""                 # filters={"status": [...]}


@dataclass
class ContainerLogs:
    name: str
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    timestamps: bool = False
    tail: int = -1                   # -1: all


@dataclass
class AttachArgs:
    name: str
    logs: bool = False
    stream: bool = False
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False


@dataclass
class ContainerTop:
    name: str
    ps_args: str = "-ef"


@dataclass
class EventsQuery:
    since_ns: int = 0                # unix time in ns; 0: only new events
    until_ns: int = 0                # unix time in ns (inclusive); 0: follow forever
    filter: EventFilter = field(default_factory=EventFilter)


@dataclass
class ContainerResize:
    name: str
    height: int
    width: int
