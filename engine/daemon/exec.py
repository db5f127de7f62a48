"""`exec`: another process in a running container (Docker 1.3, API 1.15+).

An exec is created (recorded), then started once, attached or detached. Its
output is not logged (as Docker); attached clients get it live. Records are
kept while their container exists, finished ones for at most KEEP_FINISHED
seconds (so `GET /exec/(id)/json` can still report the exit code), and all of
a container's go when it is removed.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator, ClassVar

from ..api.codec import api
from ..errors import BadRequest, Conflict, NotFound, ServerError
from ..execdriver.driver import ExecError, ProcessConfig, StartedProcess
from ..jobs import Job, JobArgs
from .container import Container
from . import detachkeys, security
from .streams import Broadcaster, ProcessIO, write_all
from ..api.records import ExecCreated

if TYPE_CHECKING:
    from .daemon import Daemon

KEEP_FINISHED = 300.0


@dataclass
class ExecProcessConfig:
    # Docker spells these in lower case.
    entrypoint: str = api("entrypoint", default="")
    arguments: list[str] = api("arguments", default_factory=list)
    tty: bool = api("tty", default=False)
    privileged: bool = api("privileged", default=False)
    user: str | None = api("user", omit_none=True, default=None)   # omitted when not given, as Docker


@dataclass
class ExecRecord:
    id: str = api("ID")
    container_id: str = api("ContainerID", default="")
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    open_stdin: bool = False
    open_stdout: bool = False
    open_stderr: bool = False
    process_config: ExecProcessConfig = field(default_factory=ExecProcessConfig)
    can_remove: bool = False
    detach_keys: str = ""   # as Docker shows them: the bytes in base64, "" for the default


@dataclass
class ExecCreate(JobArgs["ExecCreated"]):
    job: ClassVar[str] = "exec_create"

    container: str
    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str = ""
    working_dir: str = ""
    tty: bool = False
    privileged: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    detach_keys: str = ""     # "" = Docker's default (ctrl-p,ctrl-q)


@dataclass
class ExecStart(JobArgs["ExecSession | None"]):
    job: ClassVar[str] = "exec_start"

    exec_id: str
    detach: bool = False


@dataclass
class ExecInspect(JobArgs[ExecRecord]):
    job: ClassVar[str] = "exec_inspect"

    exec_id: str


@dataclass
class ExecResize(JobArgs[None]):
    job: ClassVar[str] = "exec_resize"

    exec_id: str
    height: int
    width: int


class ExecInstance:
    def __init__(self, record: ExecRecord, container: Container, process: ProcessConfig) -> None:
        self.record = record
        self.container = container
        self.process = process
        self.output = Broadcaster()
        self.io: ProcessIO | None = None   # made when it starts
        self.size: tuple[int, int] | None = None  # asked for before the pty existed
        self.started = False
        self.finished_at = 0.0
        self.running = asyncio.Event()


class ExecSession:
    """An attached client of one exec: its live output and its stdin. The server
    calls `begin()` once it has taken over the connection: as Docker does, the
    process starts only then, so no output races the client's reading of 101."""

    def __init__(self, daemon: Daemon, instance: ExecInstance) -> None:
        self.daemon = daemon
        self.instance = instance
        self.tty = instance.process.tty
        self._queue = instance.output.subscribe()
        record = instance.record
        self.wanted = {s for s, on in (("stdout", record.open_stdout), ("stderr", record.open_stderr)) if on}
        self._detach = detachkeys.DetachScanner(base64.b64decode(record.detach_keys)
                                                or detachkeys.parse(""))

    async def begin(self) -> None:
        await _launch(self.daemon, self.instance)

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        while (item := await self._queue.get()) is not None:
            if item[0] in self.wanted:
                yield item

    async def write_stdin(self, data: bytes) -> bool:
        """Feed the exec's stdin; False when the client typed the detach keys (a TTY
        exec only, as Docker: the process goes on running)."""
        detached = False
        if self.tty:
            data, detached = self._detach.feed(data)
        await self.instance.running.wait()
        fd = self.instance.io.stdin_fd if self.instance.io else None
        if self.instance.record.open_stdin and fd is not None and data:
            try:
                await write_all(fd, data)
            except OSError:
                pass
        return not detached

    def stdin_eof(self) -> None:
        if self.instance.io is not None:
            self.instance.io.close_stdin()

    def close(self) -> None:
        self.instance.output.unsubscribe(self._queue)


def _prune(daemon: Daemon) -> None:
    now = time.monotonic()
    for exec_id, instance in list(daemon.execs.items()):
        gone = instance.container.id not in daemon.containers
        if gone or (instance.finished_at and now - instance.finished_at > KEEP_FINISHED):
            del daemon.execs[exec_id]


def _lookup(daemon: Daemon, exec_id: str) -> ExecInstance:
    _prune(daemon)
    instance = daemon.execs.get(exec_id)
    if instance is None:
        raise NotFound(f"No such exec instance: {exec_id}")
    return instance


async def exec_create(daemon: Daemon, job: Job[ExecCreate]) -> ExecCreated:
    args = job.args
    container = daemon.lookup(args.container)
    if not container.running:
        raise Conflict(f"Container {args.container} is not running")
    if container.record.state.paused:
        raise Conflict(f"Container {args.container} is paused, unpause the container before exec")
    if not args.cmd:
        raise BadRequest("No exec command specified")
    try:
        keys = detachkeys.parse(args.detach_keys) if args.detach_keys else b""
    except detachkeys.InvalidKeys:
        raise BadRequest(f"Invalid escape keys ({args.detach_keys}) provided") from None
    _prune(daemon)
    config = container.record.config
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOSTNAME": config.hostname}
    for item in (config.env or []) + args.env:
        key, _, value = item.partition("=")
        env[key] = value
    if args.tty:
        env.setdefault("TERM", "xterm")
    process = ProcessConfig(args=args.cmd, env=[f"{k}={v}" for k, v in env.items()],
                            cwd=args.working_dir or config.working_dir or "/",
                            user=args.user or config.user, tty=args.tty, stdin=args.attach_stdin)
    record = ExecRecord(
        id=secrets.token_hex(32), container_id=container.id, open_stdin=args.attach_stdin,
        open_stdout=args.attach_stdout, open_stderr=args.attach_stderr, detach_keys=base64.b64encode(keys).decode(),
        process_config=ExecProcessConfig(args.cmd[0], args.cmd[1:], args.tty, args.privileged,
                                         args.user or None))
    daemon.execs[record.id] = ExecInstance(record, container, process)
    daemon.container_event(container, f"exec_create: {' '.join(args.cmd)}", execID=record.id)
    return ExecCreated(record.id)


async def exec_start(daemon: Daemon, job: Job[ExecStart]) -> ExecSession | None:
    """Detached: start the exec now. Attached: return the session (subscribed to the
    output, so nothing is missed) for the server to `begin()` once it has the connection."""
    args = job.args
    instance = _lookup(daemon, args.exec_id)
    if instance.started:
        raise Conflict(f"Exec {args.exec_id[:12]} has already been started")
    container = instance.container
    if not container.running:
        raise Conflict(f"Container {container.id[:12]} is not running")
    instance.started = True
    if args.detach:
        await _launch(daemon, instance)
        return None
    return ExecSession(daemon, instance)


async def _launch(daemon: Daemon, instance: ExecInstance) -> None:
    """Start the process; return once it runs, or raise why it could not."""
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asyncio.create_task(_run(daemon, instance, started))
    await started


async def _run(daemon: Daemon, instance: ExecInstance, started: asyncio.Future[None]) -> None:
    record, container = instance.record, instance.container
    io = instance.io = ProcessIO(instance.process.tty, record.open_stdin)

    def deliver(stream: str):
        return lambda data: instance.output.publish(stream, data)

    def on_started(process: StartedProcess) -> None:
        io.running(process.console_fd, deliver)
        if instance.size:
            io.resize(*instance.size)
        record.running, record.pid = True, process.pid
        instance.running.set()
        daemon.container_event(container, f"exec_start: {' '.join(instance.process.args)}", execID=record.id)
        started.set_result(None)

    # `exec --privileged`: every capability, no seccomp, in an unprivileged container too.
    command = security.exec_command(container.id, container.record.host_config, instance.process,
                                    record.process_config.privileged)
    try:
        status = await daemon.execdriver.exec(command, io.stdio, on_started)
        exit_code = status.exit_code
    except Exception as exc:  # the exec failed to start, or its monitoring broke
        exit_code = 126 if isinstance(exc, ExecError) else 255
        if not started.done():
            started.set_exception(ServerError(f"Cannot exec in container {container.id[:12]}: {exc}"))
    await io.finish()
    instance.output.close()
    record.running, record.exit_code = False, exit_code
    instance.finished_at = time.monotonic()
    instance.running.set()  # release stdin writers waiting for a start that failed
    daemon.container_event(container, "exec_die", execID=record.id, exitCode=str(exit_code))


async def exec_inspect(daemon: Daemon, job: Job[ExecInspect]) -> ExecRecord:
    args = job.args
    return _lookup(daemon, args.exec_id).record


async def exec_resize(daemon: Daemon, job: Job[ExecResize]) -> None:
    args = job.args
    instance = _lookup(daemon, args.exec_id)
    if not (0 <= args.height <= 65535 and 0 <= args.width <= 65535):
        raise BadRequest(f"invalid terminal size {args.height}x{args.width}")
    instance.size = (args.height, args.width)  # kept for a pty that does not exist yet
    instance.process.console_size = instance.size   # set on the pty before the process runs
    if instance.io is not None:
        instance.io.resize(args.height, args.width)
