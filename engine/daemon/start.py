"""`start`: mount the container's filesystem, wire its streams, hand it to the exec
driver, and monitor it until it exits (then record why, and clean up)."""

from __future__ import annotations

import asyncio
import logging

from ..crashpoint import crash_point
from ..errors import BadRequest, NotFound, NotModified, ServerError
from ..execdriver.driver import (Command, Device, ExecError, ExitStatus, Mount, Network,
                                 ProcessConfig, Resources, StartedProcess)
from ..execdriver import CAPABILITIES, DOCKER_DEFAULT
from ..graph.graph import now_rfc3339
from ..jobs import Job
from . import netfiles, restart, volumes
from .network import merge_env, register_links, resolve_links
from .args import ContainerStart
from .container import Container, parse_time
from .create import _validate
from .logs import LogWriter
from .records import State
from .streams import ProcessIO

log = logging.getLogger("pyctr.daemon")

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


async def container_start(daemon, job: Job) -> None:
    args: ContainerStart = job.args
    container = daemon.lookup(args.name)
    if args.host_config is not None:
        _validate(container.record.config, args.host_config)
        if args.host_config.links:   # old clients send links with start
            register_links(daemon, container, resolve_links(daemon, args.host_config, container.id))
            args.host_config.links = container.record.host_config.links
        container.record.host_config = args.host_config
    await start(daemon, container)


async def start(daemon, container: Container) -> None:
    async with container.lock:
        if container.running:
            raise NotModified("Container already started")
        container.stop_requested = False
        if container.restart_task is not None and container.restart_task is not asyncio.current_task():
            container.restart_task.cancel()  # a user start supersedes a pending restart
            container.restart_task = None
        await _start_locked(daemon, container)


async def _start_locked(daemon, container: Container) -> None:
    record = container.record
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    try:
        mounts = await asyncio.to_thread(volumes.prepare, daemon, container, rootfs)
        network = _network(daemon, record.host_config.network_mode)
        prepared = await daemon.network.prepare(daemon, container)  # address, ports, links
        netfiles.write(container, daemon.config.dns, daemon.config.dns_search, prepared.ip, prepared.hosts)
        command = _command(daemon, container, rootfs, mounts, network)
        command.process.env = merge_env(command.process.env, prepared.env)
    except BaseException:
        await daemon.network.release(container)
        await asyncio.to_thread(driver.put, container.id)
        raise
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    container.monitor = asyncio.create_task(_monitor(daemon, container, command, started))
    await started


def _command(daemon, container: Container, rootfs: str, mounts, network: Network) -> Command:
    record = container.record
    config, host = record.config, record.host_config
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": config.hostname}
    if config.tty:
        env["TERM"] = "xterm"
    for item in config.env or []:
        key, _, value = item.partition("=")
        env[key] = value
    mounts = [Mount(record.resolv_conf_path, "/etc/resolv.conf"),
              Mount(record.hostname_path, "/etc/hostname"),
              Mount(record.hosts_path, "/etc/hosts")] + mounts
    return Command(
        id=container.id,
        rootfs=rootfs,
        hostname=config.hostname,
        process=ProcessConfig(
            args=[record.path] + record.args,
            env=[f"{k}={v}" for k, v in env.items()],
            cwd=config.working_dir or "/",
            user=config.user,
            tty=config.tty,
            stdin=config.open_stdin,
        ),
        mounts=mounts,
        devices=[Device(d.path_on_host, d.path_in_container or d.path_on_host, d.cgroup_permissions or "rwm")
                 for d in host.devices or []],
        capabilities=capabilities(host.cap_add or [], host.cap_drop or []),
        privileged=host.privileged,
        readonly_rootfs=host.readonly_rootfs,
        resources=Resources(
            memory=host.memory or config.memory,
            memory_swap=host.memory_swap or config.memory_swap,
            cpu_shares=host.cpu_shares or config.cpu_shares,
            cpuset=host.cpuset_cpus or config.cpuset,
            pids_limit=max(host.pids_limit or 0, 0),
        ),
        network=network,
        cgroup_parent=daemon.config.cgroup_parent,
    )


def capabilities(add: list[str], drop: list[str]) -> list[str]:
    """Docker 1.2's default set, with --cap-add/--cap-drop ("ALL" allowed) applied."""
    def norm(names: list[str]) -> list[str]:
        return [n.upper().removeprefix("CAP_") for n in names]
    add, drop = norm(add), norm(drop)
    for name in add + drop:
        if name != "ALL" and name not in CAPABILITIES:
            raise BadRequest(f"Unknown capability: {name}")
    caps = list(CAPABILITIES) if "ALL" in add else list(DOCKER_DEFAULT)
    if "ALL" in drop:
        caps = [c for c in add if c != "ALL"]
    else:
        caps = [c for c in caps if c not in drop] + [c for c in add if c != "ALL" and c not in caps]
    return caps


def _network(daemon, mode: str) -> Network:
    if mode == "host":
        return Network("host")
    if mode.startswith("container:"):
        other = daemon.lookup(mode.split(":", 1)[1])
        if not other.running:
            raise BadRequest(f"Cannot join the network of container {other.name.lstrip('/')}: it is not running")
        return Network("container", join_pid=other.record.state.pid)
    if mode != "none" and daemon.network.enabled:
        return Network("bridge")   # the veth goes in from on_created
    return Network("none")


async def _monitor(daemon, container: Container, command: Command,
                   started: asyncio.Future[None]) -> None:
    record = container.record
    io = container.io = ProcessIO(record.config.tty, record.config.open_stdin)
    container.log = LogWriter(record.log_path)

    def output(stream: str):
        def deliver(data: bytes) -> bool:  # True: an attached client is behind, pause
            container.log.write(stream, data)
            return container.output.publish(stream, data)
        return deliver

    async def on_created(process: StartedProcess) -> None:
        crash_point("start-created")
        await daemon.network.connect(container, process.pid)   # first: nothing to undo here
        io.running(process.console_fd, output, container.output.wait_for_room)
        record.state = State(running=True, pid=process.pid, started_at=now_rfc3339(),
                             exit_code=0)
        container.stopped.clear()
        container.started.set()
        daemon.save(container)
        daemon.container_event(container, "start")
        started.set_result(None)

    status = ExitStatus(exit_code=-1)
    try:
        status = await daemon.execdriver.run(command, io.stdio, on_created)
    except BaseException as exc:
        if not started.done():
            io.abandon()
            container.log.close()
            container.log = None
            record.state.error = str(exc)
            await daemon.network.release(container)
            daemon.save(container)
            await asyncio.to_thread(daemon.graph.driver.put, container.id)
            message = str(exc) if isinstance(exc, (ExecError, NotFound, BadRequest)) else repr(exc)
            started.set_exception(ServerError(f"Cannot start container {container.id[:12]}: {message}"))
            return
        log.exception("monitor of %s failed", container.id[:12])
    await _finish(daemon, container, status)


async def _finish(daemon, container: Container, status: ExitStatus) -> None:
    record = container.record
    # Leftover processes (daemons the command started) keep the pipes open: end them first.
    await asyncio.to_thread(daemon.execdriver.terminate, container.id)
    await daemon.network.release(container)
    container.output.release()  # what is left is at most a pipe's worth: no more pausing
    await container.io.finish()
    container.started.clear()
    if container.log is not None:
        container.log.close()
    container.output.close()
    mark_stopped(record, status.exit_code, oom_killed=status.oom_killed,
                 restarting=restart.should_restart(container, status.exit_code))
    daemon.save(container)
    await asyncio.to_thread(daemon.graph.driver.put, container.id)
    daemon.container_event(container, "die", exitCode=str(status.exit_code))
    container.stopped.set()
    restart.after_exit(daemon, container, status.exit_code, _ran_for(record))


def _ran_for(record) -> float:
    started, finished = parse_time(record.state.started_at), parse_time(record.state.finished_at)
    return (finished - started).total_seconds() if started and finished else 0.0


def mark_stopped(record, exit_code: int, error: str = "", oom_killed: bool = False,
                 restarting: bool = False) -> None:
    state = record.state
    state.running = state.paused = False
    state.restarting = restarting
    state.pid = 0
    state.exit_code = exit_code
    state.finished_at = now_rfc3339()
    state.oom_killed = oom_killed
    state.error = error
