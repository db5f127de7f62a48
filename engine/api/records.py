"""The API's response records, defined once: version, info, ps, images, history,
create, commit, exec create, wait, top, changes, rmi, search and auth. The daemon's jobs return
them, the server writes them as JSON (server/shapes.py, by the codec's CamelCase)
and the clients read them back (codec.from_api, leniently)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Coroutine, Protocol

from .codec import api


@dataclass
class ContainerCreated:
    id: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class ContainerUpdated:
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImageCommitted:
    id: str


@dataclass
class ExecCreated:
    id: str


@dataclass
class ExitStatus:
    status_code: int
    error: dict | None = None        # API 1.30's {"Message": ...}: never set, exits are codes


@dataclass
class ProcessList:
    """`top`: ps's column titles and one row of fields per process."""
    titles: list[str] = field(default_factory=list)
    processes: list[list[str]] = field(default_factory=list)


@dataclass
class FileChange:
    """One path that differs from the image: Kind 0 modified, 1 added, 2 deleted."""
    path: str
    kind: int


@dataclass
class ImageDeleted:
    """One line of `rmi`'s report: a tag taken off, or an image deleted."""
    untagged: str | None = api(omit_none=True, default=None)
    deleted: str | None = api(omit_none=True, default=None)


@dataclass
class ContainerPruneReport:
    containers_deleted: list[str] | None = None     # null when none, as dockerd
    space_reclaimed: int = 0


@dataclass
class ImagePruneReport:
    images_deleted: list[ImageDeleted] | None = None
    space_reclaimed: int = 0


@dataclass
class VersionInfo:
    version: str
    api_version: str
    min_api_version: str = api("MinAPIVersion", default="")
    git_commit: str = "pyctr"
    go_version: str = ""
    os: str = api("Os", default="linux")
    arch: str = "amd64"
    kernel_version: str = ""


@dataclass
class CommitInfo:
    id: str = api("ID", default="")
    expected: str = ""


@dataclass
class SwarmInfo:
    """A daemon that is not in a swarm, as `docker info` reads it."""
    node_id: str = api("NodeID", default="")
    node_addr: str = ""
    local_node_state: str = "inactive"
    control_available: bool = False
    error: str = ""
    remote_managers: list | None = None


@dataclass
class SystemInfo:
    id: str = api("ID", default="")
    containers: int = 0
    images: int = 0
    driver: str = ""
    driver_status: list[list[str]] = field(default_factory=list)
    execution_driver: str = ""
    kernel_version: str = ""
    operating_system: str = ""
    ncpu: int = api("NCPU", default=0)
    mem_total: int = 0
    name: str = ""
    debug: bool = False
    n_fd: int = api("NFd", default=0)
    n_goroutines: int = api("NGoroutines", default=0)
    n_events_listener: int = api("NEventsListener", default=0)
    init_path: str = ""
    init_sha1: str | None = api(omit_none=True, default=None)   # Docker's dockerinit; pyctrd has none
    index_server_address: str = ""
    memory_limit: bool = True
    swap_limit: bool = True
    ipv4_forwarding: bool = api("IPv4Forwarding", default=False)
    docker_root_dir: str = ""
    server_version: str = ""
    # Later versions' fields (as dockerd 20.10 answers API 1.41).
    containers_running: int = 0
    containers_paused: int = 0
    containers_stopped: int = 0
    cpu_shares: bool = api("CPUShares", default=True)
    cpu_set: bool = api("CPUSet", default=True)
    pids_limit: bool = True
    kernel_memory: bool = False
    oom_kill_disable: bool = False
    system_time: str = ""
    logging_driver: str = "json-file"
    cgroup_driver: str = "cgroupfs"
    cgroup_version: str = ""
    os_type: str = api("OSType", default="linux")
    os_version: str = api("OSVersion", default="")
    architecture: str = ""
    plugins: dict = field(default_factory=dict)
    registry_config: dict = field(default_factory=dict)
    http_proxy: str = ""
    https_proxy: str = ""
    no_proxy: str = ""
    labels: list[str] = field(default_factory=list)
    experimental_build: bool = False
    runtimes: dict[str, dict[str, str]] = field(default_factory=dict)
    default_runtime: str = ""
    swarm: SwarmInfo = field(default_factory=SwarmInfo)
    live_restore_enabled: bool = False
    isolation: str = ""
    init_binary: str = ""
    containerd_commit: CommitInfo = field(default_factory=CommitInfo)
    runc_commit: CommitInfo = field(default_factory=CommitInfo)
    init_commit: CommitInfo = field(default_factory=CommitInfo)
    # every non-privileged container gets Docker's default seccomp profile
    security_options: list[str] = field(default_factory=lambda: ["name=seccomp,profile=builtin"])
    warnings: list[str] | None = None


@dataclass
class ImageSummary:
    repo_tags: list[str]
    id: str
    parent_id: str
    created: int
    size: int
    virtual_size: int
    repo_digests: list[str] = field(default_factory=list)  # "repo@sha256:..." (v1.18's field)
    labels: dict[str, str] = field(default_factory=dict)   # the image config's (v1.18's field)
    containers: int = 0              # containers made from it (v1.25's field)
    shared_size: int = 0             # what of its size other images hold too (v1.25's field)


@dataclass
class HistoryEntry:
    id: str
    created: int
    created_by: str
    tags: list[str] | None
    size: int
    comment: str = ""


@dataclass
class PortSummary:
    private_port: int
    type: str = "tcp"
    ip: str = api("IP", omit_none=True, default=None)
    public_port: int | None = api(omit_none=True, default=None)


@dataclass
class ContainerSummary:
    id: str
    image: str
    command: str
    created: int                       # unix seconds
    status: str
    ports: list[PortSummary] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    size_rw: int | None = api(omit_none=True, default=None)
    size_root_fs: int | None = api(omit_none=True, default=None)
    # Later API versions' fields (engine/server/shapes.py leaves them out for older clients).
    labels: dict[str, str] = field(default_factory=dict)
    image_id: str = api("ImageID", default="")
    state: str = ""
    mounts: list[dict] = field(default_factory=list)
    network_settings: dict = field(default_factory=dict)
    host_config: dict = field(default_factory=dict)


@dataclass
class SearchResult:
    """The v1 search result shape, which the API passes through (lower-case keys)."""
    name: str = api("name", default="")
    description: str = api("description", default="")
    star_count: int = api("star_count", default=0)
    is_official: bool = api("is_official", default=False)
    is_automated: bool = api("is_automated", default=False)


@dataclass
class LoginResult:
    status: str


@dataclass
class UsageData:
    size: int = -1           # bytes under the volume; -1: not counted
    ref_count: int = -1      # containers (in any state) that use it


@dataclass
class VolumeRecord:
    """A volume as `/volumes` shows it (API 1.21+)."""
    name: str
    driver: str
    mountpoint: str
    created_at: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    scope: str = "local"
    usage_data: UsageData | None = api(omit_none=True, default=None)   # `system df` only


@dataclass
class VolumeListReport:
    volumes: list[VolumeRecord] = field(default_factory=list)
    warnings: list[str] | None = None


@dataclass
class VolumePruneReport:
    volumes_deleted: list[str] = field(default_factory=list)
    space_reclaimed: int = 0
