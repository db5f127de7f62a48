"""The exec driver interface: how a container's process is started and watched.

The daemon builds a `Command` (everything the kernel needs to know) and calls
`ExecDriver.run`, which returns when the container's first process has exited;
while it runs, the daemon may kill, pause, exec into it and read its `stats`.
The driver never knows about HTTP, jobs or the graph: only paths, ids and fds.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ..libcontainer.cgroups.manager import CgroupUsage


class ExecError(Exception):
    """The container could not be started (bad rootfs, mount failure, ...)."""


@dataclass
class Mount:
    source: str        # host path
    destination: str   # absolute path inside the container
    writable: bool = True
    private: bool = True
    kind: str = "bind"      # or "tmpfs" (source unused; `data` its options, e.g. size=16m,mode=1777)
    data: str = ""
    propagation: str = ""   # bind: rprivate (the default), private, rshared, shared, rslave, slave


@dataclass
class Device:
    path_on_host: str
    path_in_container: str
    permissions: str = "rwm"  # cgroup device permissions


@dataclass
class Resources:
    memory: int = 0        # bytes, 0 = unlimited
    memory_swap: int = 0   # bytes, 0 = default, -1 = unlimited
    cpu_shares: int = 0    # 0 = default (1024)
    cpuset: str = ""       # e.g. "0-1"
    pids_limit: int = 0    # most processes at once (pids cgroup), 0 = unlimited
    memory_reservation: int = 0   # soft limit, bytes
    memory_swappiness: int = -1   # 0-100, -1 = the kernel's
    oom_kill_disable: bool = False
    cpu_period: int = 0    # CFS period, us (0 = the kernel's)
    cpu_quota: int = 0     # CFS quota per period, us (0 = none)
    cpuset_mems: str = ""
    blkio_weight: int = 0
    # (block device path on the host, value)
    blkio_weight_devices: list[tuple[str, int]] = field(default_factory=list)
    read_bps: list[tuple[str, int]] = field(default_factory=list)
    write_bps: list[tuple[str, int]] = field(default_factory=list)
    read_iops: list[tuple[str, int]] = field(default_factory=list)
    write_iops: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class ProcessSettings:
    """What every process of a container gets, its init and its execs alike (Docker's
    exec copies the container's process spec)."""
    ulimits: list[tuple[str, int, int]] = field(default_factory=list)   # (name, soft, hard)
    oom_score_adj: int = 0
    group_add: list[str] = field(default_factory=list)   # names or gids, looked up in the container


@dataclass
class Isolation:
    """Which namespaces a container shares, and what its init sets up besides the filesystem."""
    pid_join: int = 0      # join the pid namespace of this host pid (--pid container:x)
    pid_host: bool = False
    ipc_join: int = 0      # join the IPC namespace of this host pid (--ipc container:x)
    ipc_host: bool = False
    uts_host: bool = False
    shm_source: str = ""   # host directory bound at /dev/shm ("" = a tmpfs of its own)
    shm_size: int = 64 << 20
    sysctls: list[tuple[str, str]] = field(default_factory=list)
    process: ProcessSettings = field(default_factory=ProcessSettings)


@dataclass
class Network:
    # "none": a new netns with only lo; "bridge": a new netns that the daemon fills
    # in its `on_created` hook; "host": the host's netns; "container": join `join_pid`'s.
    mode: str = "none"
    join_pid: int = 0


@dataclass
class Confinement:
    """What confines a non-privileged container besides its capabilities (--security-opt)."""
    seccomp_profile: str = ""          # "" = Docker's default profile, "unconfined", or a profile's JSON
    no_new_privileges: bool = False


@dataclass
class ProcessConfig:
    args: list[str]                    # argv; args[0] is looked up in PATH of `env`
    env: list[str] = field(default_factory=list)   # "KEY=value"
    cwd: str = "/"
    user: str = ""                     # "", "name", "uid", "name:group", "uid:gid"
    tty: bool = False
    stdin: bool = False                # keep stdin open (only meaningful with pipes)
    console_size: tuple[int, int] | None = None   # (rows, columns) of the pty before the process runs


@dataclass
class Command:
    id: str                            # the container id (64 hex)
    rootfs: str                        # mounted root filesystem on the host
    hostname: str
    process: ProcessConfig
    mounts: list[Mount] = field(default_factory=list)  # volumes, /etc/hosts etc.
    devices: list[Device] = field(default_factory=list)  # extra devices (--device)
    # more device cgroup rules (--device-cgroup-rule): (kind, major, minor, access), -1 = any
    device_rules: list[tuple[str, int, int, str]] = field(default_factory=list)
    capabilities: list[str] | None = None   # None = Docker 1.2's default set; names like "CHOWN"
    privileged: bool = False
    readonly_rootfs: bool = False
    resources: Resources = field(default_factory=Resources)
    network: Network = field(default_factory=Network)
    cgroup_parent: str = ""            # relative to each hierarchy's root; "" = the daemon's own cgroup
    confinement: Confinement = field(default_factory=Confinement)
    isolation: Isolation = field(default_factory=Isolation)


@dataclass
class Stdio:
    """The container's side of its standard streams, as open fds (pipes), or a pty.

    With `process.tty` the driver allocates a pty and ignores stdout/stderr; the
    master end is handed to the daemon in `StartedProcess.console_fd`."""

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    # The daemon's own ends ("stdout", "stderr": read ends, "stdin": the write end):
    # a driver that supports live restore keeps duplicates of them beyond the
    # daemon's life, so that output waits in the pipe for the next daemon.
    daemon_ends: dict[str, int] = field(default_factory=dict)


@dataclass
class StartedProcess:
    pid: int                   # host pid of the container's first process
    console_fd: int | None     # pty master when process.tty, owned by the caller afterwards


@dataclass
class ExitStatus:
    exit_code: int             # 128+signal when killed by a signal
    oom_killed: bool = False


@dataclass
class Restored:
    """A container that an earlier daemon started, found again (live restore)."""
    pid: int
    fds: dict[str, int]        # new duplicates of the daemon's ends (Stdio.daemon_ends; "console": pty master)
    exited: ExitStatus | None  # set when it exited while no daemon was there


@dataclass
class ExecCommand:
    """Another process in a running container (`docker exec`)."""
    container_id: str
    process: ProcessConfig
    capabilities: list[str] | None = None   # None = Docker 1.2's default set
    privileged: bool = False
    confinement: Confinement = field(default_factory=Confinement)   # the container's
    settings: ProcessSettings = field(default_factory=ProcessSettings)   # the container's


# Called once the container's namespaces exist and before its process execs the
# user's command: the daemon sets up networking here, then records the state as
# running. If it raises, the driver kills the container and `run` re-raises.
OnCreated = Callable[[StartedProcess], Awaitable[None]]


class ExecDriver(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    async def run(self, cmd: Command, stdio: Stdio, on_created: OnCreated) -> ExitStatus:
        """Start the container and return once its first process has exited.

        Raises ExecError if it could not be started at all; in that case nothing of it
        (cgroup, process) is left. A command that cannot be executed (not found, not
        executable) is not an ExecError: the container prints the reason on stderr and
        exits 127 (126 for permission denied), as Docker does."""

    @abc.abstractmethod
    async def exec(self, cmd: ExecCommand, stdio: Stdio,
                   on_started: Callable[[StartedProcess], None]) -> ExitStatus:
        """Run a process inside a running container; return once it has exited.

        `on_started` is called once it runs (with the pty master when
        process.tty). ExecError when the container is not running or its
        namespaces cannot be joined; a command that cannot be executed exits
        126/127 with the reason on its stderr, as `run` does."""

    @abc.abstractmethod
    def kill(self, container_id: str, sig: int) -> None:
        """Send `sig` to the container's first process."""

    @abc.abstractmethod
    def update(self, container_id: str, resources: Resources) -> list[str]:
        """Apply `resources` to a running container's cgroup at once; return warnings.

        ExecError when the container is not running or the kernel refuses a limit."""

    @abc.abstractmethod
    def pause(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def unpause(self, container_id: str) -> None: ...

    @abc.abstractmethod
    def pids(self, container_id: str) -> list[int]:
        """Host pids of every process in the container (from its cgroup)."""

    @abc.abstractmethod
    def stats(self, container_id: str) -> CgroupUsage:
        """CPU, memory and pids used by a running container (its cgroup's counters).

        ExecError when the container is not running."""

    @abc.abstractmethod
    def terminate(self, container_id: str) -> None:
        """SIGKILL every process of the container and remove its cgroup.

        Used on daemon start for containers left over from a daemon that died, and
        after `run` returns; safe to call when nothing is left."""

    def info(self) -> list[tuple[str, str]]:
        return [("Execution Driver", self.name)]

    # ---- live restore: containers that outlive the daemon (optional) ----------
    # A driver without it keeps none of them: restore() finds nothing, and the
    # daemon marks the containers an earlier daemon left as exited.
    live_restore: bool = False

    async def open(self) -> None:
        """Called once before the first container is started or restored."""

    def live(self) -> set[str]:
        """Ids of containers an earlier daemon started that are still running."""
        return set()

    async def restore(self, container_id: str) -> Restored | None:
        """Take over a container an earlier daemon started; None if nothing is known of it."""
        return None

    async def resume(self, container_id: str) -> ExitStatus:
        """For a restored container: return once it has exited (as `run` does)."""
        raise ExecError(f"container {container_id[:12]} was not restored")

    async def forget(self, container_id: str) -> None:
        """The daemon has recorded the container's exit and read all its output."""

    async def close_stdin(self, container_id: str) -> None:
        """EOF on the container's stdin: drop the driver's own copy of its write end."""

    async def settle(self) -> None:
        """The daemon is going away (either way): the processes of execs it gave up on
        while they started are ended and reaped first, at most a few seconds."""

    def detach(self) -> None:
        """The daemon is going away and leaves its containers running (live restore):
        a `run` or `resume` cancelled from now on must not stop the container."""

    async def close(self) -> None:
        """The daemon shuts down with its containers stopped (no live restore): release
        whatever the driver would otherwise keep for a next daemon."""
