"""The typed arguments of the daemon's jobs: what the server hands each handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from ..api.config import ContainerConfig, HostConfig
from ..api.networks import NetworkingConfig
from ..api.filters import Filters
from ..builder.options import BuildOptions
from ..jobs import JobArgs
from .events import EventFilter

if TYPE_CHECKING:  # what the jobs return, named in their args' JobArgs[...]
    from typing import AsyncIterator

    from ..api.records import (ContainerCreated, ContainerSummary, ExitStatus, FileChange,
                               HistoryEntry, ImageDeleted, ImageSummary, ProcessList, SystemInfo,
                               VersionInfo)
    from ..graph.image_record import ImageDetails
    from .container_record import ContainerRecord
    from .streamed import AttachedSession, EventLines, ExitWaiter, LogStream


@dataclass
class ImageImport(JobArgs[str]):
    job: ClassVar[str] = "image_import"

    source: str                      # "-" for the request body, else a URL
    repository: str = ""
    tag: str = ""
    body: BinaryIO | None = None     # a blocking reader, used from a worker thread
    changes: list[str] = field(default_factory=list)   # Dockerfile config instructions (`-c`)
    message: str = ""                # the image's comment (`-m`)


@dataclass
class ImageRef:
    """The args of the jobs that take an image's name and nothing else."""
    name: str


@dataclass
class ImageInspect(ImageRef, JobArgs["ImageDetails"]):
    job: ClassVar[str] = "image_inspect"


@dataclass
class ImageHistory(ImageRef, JobArgs["list[HistoryEntry]"]):
    job: ClassVar[str] = "image_history"


@dataclass
class ImageList(JobArgs["list[ImageSummary]"]):
    job: ClassVar[str] = "image_list"

    all: bool = False
    filters: Filters = field(default_factory=Filters)   # validated by the job (images.py)
    repository: str = ""             # the `filter` parameter (a repository name)


@dataclass
class ImageTag(JobArgs[None]):
    job: ClassVar[str] = "image_tag"

    name: str
    repository: str
    tag: str = ""
    force: bool = False


@dataclass
class ImageDelete(JobArgs["list[ImageDeleted]"]):
    job: ClassVar[str] = "image_delete"

    name: str
    force: bool = False
    noprune: bool = False
    today: bool = False              # today's rules (API 1.25+), else Docker 1.2's (daemon/rmi.py)


@dataclass
class ContainerCreate(JobArgs["ContainerCreated"]):
    job: ClassVar[str] = "container_create"

    config: ContainerConfig
    host_config: HostConfig
    name: str = ""
    networking: NetworkingConfig | None = None   # API 1.22+: the endpoint on its --net


@dataclass
class ContainerRef:
    """The args of the jobs that take a container's name and nothing else."""
    name: str


@dataclass
class ContainerInspect(ContainerRef, JobArgs["ContainerRecord"]):
    job: ClassVar[str] = "container_inspect"


@dataclass
class ContainerWait(ContainerRef, JobArgs["ExitWaiter"]):
    job: ClassVar[str] = "container_wait"

    condition: str = "not-running"   # or next-exit, removed (API 1.30)


@dataclass
class ContainerPause(ContainerRef, JobArgs[None]):
    job: ClassVar[str] = "container_pause"


@dataclass
class ContainerUnpause(ContainerRef, JobArgs[None]):
    job: ClassVar[str] = "container_unpause"


@dataclass
class ContainerChanges(ContainerRef, JobArgs["list[FileChange]"]):
    job: ClassVar[str] = "container_changes"


@dataclass
class ContainerExport(ContainerRef, JobArgs["AsyncIterator[bytes]"]):
    job: ClassVar[str] = "container_export"


@dataclass
class ContainerStart(JobArgs[None]):
    job: ClassVar[str] = "container_start"

    name: str
    host_config: HostConfig | None = None  # old clients send it with start


@dataclass
class ContainerStop(JobArgs[None]):
    job: ClassVar[str] = "container_stop"

    name: str
    timeout: int | None = None   # None: the container's StopTimeout (default 10)


@dataclass
class ContainerRestart(ContainerStop):
    job: ClassVar[str] = "container_restart"


@dataclass
class ContainerKill(JobArgs[None]):
    job: ClassVar[str] = "container_kill"

    name: str
    signal: str = "KILL"


@dataclass
class ContainerRename(JobArgs[None]):
    job: ClassVar[str] = "container_rename"

    name: str
    new_name: str


@dataclass
class ContainerRemove(JobArgs[None]):
    job: ClassVar[str] = "container_remove"

    name: str
    force: bool = False
    volumes: bool = False
    link: bool = False


@dataclass
class ObjectExists(JobArgs[bool]):
    """Whether a network or a volume of that name or id exists (`docker inspect X`
    probes every kind of object and needs a 404 for the kinds X is not)."""
    job: ClassVar[str] = "object_exists"

    kind: str                        # "network" or "volume"
    name: str


@dataclass
class ContainerPrune(JobArgs["ContainerPruneReport"]):
    job: ClassVar[str] = "container_prune"

    filters: Filters = field(default_factory=Filters)   # label, label!, until


@dataclass
class ImagePrune(JobArgs["ImagePruneReport"]):
    job: ClassVar[str] = "image_prune"

    filters: Filters = field(default_factory=Filters)   # dangling, label, label!, until


@dataclass
class ContainerList(JobArgs["list[ContainerSummary]"]):
    job: ClassVar[str] = "container_list"

    all: bool = False
    limit: int = -1
    since: str = ""
    before: str = ""
    size: bool = False
    filters: Filters = field(default_factory=Filters)   # validated by the job (ps.py)


@dataclass
class ContainerLogs(JobArgs["LogStream"]):
    job: ClassVar[str] = "container_logs"

    name: str
    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    timestamps: bool = False
    tail: int = -1                   # -1: all
    since_ns: int = 0                # only entries at or after (Unix ns); 0: from the start
    until_ns: int = 0                # only entries at or before (Unix ns); 0: no end
    details: bool = False            # each line after its log attributes (API 1.25)


@dataclass
class AttachArgs(JobArgs["AttachedSession"]):
    job: ClassVar[str] = "container_attach"

    name: str
    logs: bool = False
    stream: bool = False
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    detach_keys: str = ""     # "" = Docker's default (ctrl-p,ctrl-q); see daemon/detachkeys.py


@dataclass
class ContainerTop(JobArgs["ProcessList"]):
    job: ClassVar[str] = "container_top"

    name: str
    ps_args: str = "-ef"


@dataclass
class EventsQuery(JobArgs["EventLines"]):
    job: ClassVar[str] = "events"

    since_ns: int = 0                # unix time in ns; 0: only new events
    until_ns: int = 0                # unix time in ns (inclusive); 0: follow forever
    filter: EventFilter = field(default_factory=EventFilter)


@dataclass
class ContainerResize(JobArgs[None]):
    job: ClassVar[str] = "container_resize"

    name: str
    height: int
    width: int


@dataclass
class VersionQuery(JobArgs["VersionInfo"]):
    job: ClassVar[str] = "version"


@dataclass
class InfoQuery(JobArgs["SystemInfo"]):
    job: ClassVar[str] = "info"


@dataclass
class BuildArgs(JobArgs[str]):
    job: ClassVar[str] = "image_build"

    body: BinaryIO | None                    # the context tar (a blocking reader)
    options: BuildOptions = field(default_factory=BuildOptions)
    dockerfile: str = "Dockerfile"           # its path inside the context
    remote: str = ""                         # a URL instead of a body
