"""A container's life once the exec driver has it (as moby's monitor.go): record it
running, wait for its exit, record why, clean up, emit `die`, and apply the restart
policy.

Restart policies (Docker 1.2): `no`, `on-failure[:max]`, `always`. After an exit that
the policy covers, the container waits a back-off that starts at 100 ms and doubles
with each restart, and goes back to 100 ms once a run has lasted at least 10 s. A
stop, kill or rm by the user never triggers a restart.

Live restore: a container an earlier daemon started is handed back by the exec
driver (`restore`) and `adopt` gives it a monitor as if this daemon had started it:
its output pumps read on from its pipes, and its exit is handled the same way.

start.py prepares a run (filesystem, volumes, network, the Command) and hands it
here together with itself as `start_again`: the monitor restarts a container through
that, so it never imports start.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from ..crashpoint import crash_point
from ..tracing import mark, span
from ..errors import BadRequest, NotFound, ServerError
from ..execdriver.driver import Command, ExecError, ExitStatus, Restored, StartedProcess
from ..graph.graph import now_rfc3339
from . import volumes
from .container import Container, parse_time
from . import health, hostopts, logdrivers, spool
from .container_record import ZERO_TIME, State
from .streams import ProcessIO

log = logging.getLogger("pyctr.daemon")

FIRST_BACKOFF = 0.1
RESET_AFTER = 10.0

# How the monitor starts a container again: start.start(daemon, container).
StartAgain = Callable[..., Awaitable[None]]


async def watch(daemon, container: Container, command: Command, started: asyncio.Future[None],
                start_again: StartAgain) -> None:
    """The container's monitor task: runs `command`, settles `started` once the process
    runs (or with the reason it could not start), then handles its exit."""
    record = container.record
    io = container.io = ProcessIO(record.config.tty, record.config.open_stdin)
    _stdin_closer(daemon, container, io)
    io.stdio.daemon_ends.update(daemon.network.port_sockets(container))   # kept past the daemon too
    container.log = logdrivers.writer(record)
    _open_spools(container, resume=False)
    output = _output(container)

    async def on_created(process: StartedProcess) -> None:
        mark("execdriver: process created", pid=process.pid)
        crash_point("start-created")
        with span("start: network connect"):
            await daemon.network.connect(container, process.pid)   # first: nothing to undo here
        io.running(process.console_fd, output, container.output.wait_for_room, _readers(container))
        size = record.host_config.console_size
        if size and len(size) == 2 and size[0] > 0 and size[1] > 0:
            io.resize(size[0], size[1])   # `run -it`: the terminal's size before the shell reads it
        previous_health = record.state.health
        record.state = State(running=True, pid=process.pid, started_at=now_rfc3339(),
                             exit_code=0)
        health.started(daemon, container, previous_health)
        container.stopped.clear()
        container.started.set()
        daemon.save(container)
        daemon.container_event(container, "start")
        started.set_result(None)

    status = ExitStatus(exit_code=-1)
    mark("execdriver: run", id=container.id[:12])
    try:
        status = await daemon.execdriver.run(command, io.stdio, on_created)
        mark("execdriver: exited", id=container.id[:12], code=status.exit_code)
    except BaseException as exc:
        if daemon.detaching:   # pyctrd leaves with live restore: the container runs on
            raise
        if not started.done():
            io.abandon()
            close_log(container)
            container.log = None
            record.state.error = str(exc)
            await daemon.network.release(container)
            daemon.save(container)
            await asyncio.to_thread(volumes.unmount_all, daemon, container)
            await asyncio.to_thread(daemon.graph.driver.put, container.id)
            await asyncio.to_thread(hostopts.unmount_shm, container)
            message = str(exc) if isinstance(exc, (ExecError, NotFound, BadRequest)) else repr(exc)
            started.set_exception(ServerError(f"Cannot start container {container.id[:12]}: {message}"))
            return
        log.exception("monitor of %s failed", container.id[:12])
    await _exited(daemon, container, status, start_again)


def _output(container: Container):
    def output(stream: str):
        spooled = container.spools.get(stream)

        def deliver(data: bytes) -> bool:  # True: an attached client is behind, pause
            crash_point("output-taken")   # out of the pipe, not yet in the log
            if container.log is not None:   # None: the none log driver
                container.log.write(stream, data)
                if spooled is not None:
                    spooled.free(container.log.logged[stream])
            return container.output.publish(stream, data)
        return deliver
    return output


def _open_spools(container: Container, resume: bool) -> None:
    """The spools of a logged container's pipes (spool.py), and the log's cursor into
    them: new ones for a new run; for an adopted run, the ones the earlier daemon left,
    whose bytes that the log does not have yet are logged now, before the pipes are read."""
    writer = container.log
    container.spools = {}
    if writer is None or container.record.config.tty:   # nothing kept, or a pty (no splice)
        return
    try:
        resumed = resume and writer.resume_cursor()
        spools = {stream: spool.Spool(spool.spool_path(writer.path, stream), not resumed, writer.drop_cursor)
                  for stream in spool.STREAMS}
        if resumed and any(s.size < writer.logged[name] for name, s in spools.items()):
            log.error("container %s: its output spools are shorter than its log's cursor says; "
                      "starting them anew", container.id[:12])
            for s in spools.values():
                s.close()
            spools = {stream: spool.Spool(spool.spool_path(writer.path, stream), True, writer.drop_cursor)
                      for stream in spool.STREAMS}
            resumed = False
        if not resumed:
            writer.start_cursor()
    except OSError as exc:   # a full data root: the output goes on unspooled, as before
        log.error("container %s: cannot keep its output spools (%s)", container.id[:12], exc)
        writer.drop_cursor()
        return
    container.spools = spools
    if resumed:
        output = _output(container)
        for stream, spooled in spools.items():
            deliver = output(stream)
            for chunk in spooled.unlogged(writer.logged[stream]):
                deliver(chunk)


def _readers(container: Container) -> dict:
    return {stream: spooled.take for stream, spooled in container.spools.items()}


def close_log(container: Container, leave: bool = False) -> None:
    """The run ended (its last partial lines are logged, the spools go), or, with
    `leave`, this daemon leaves it running (partial lines, spools and the cursor stay)."""
    if container.log is not None:
        container.log.close(leave_partial=leave)
    for spooled in container.spools.values():
        spooled.close()
    if container.spools and not leave:
        spool.remove(container.log.path)
    container.spools = {}


def _stdin_closer(daemon, container: Container, io: ProcessIO) -> None:
    def close() -> None:
        task = asyncio.ensure_future(daemon.execdriver.close_stdin(container.id))
        task.add_done_callback(lambda t: t.cancelled() or t.exception() is None
                               or log.error("closing stdin of %s: %s", container.id[:12], t.exception()))
    io.on_close_stdin = close


def adopt(daemon, container: Container, restored: Restored, start_again: StartAgain) -> None:
    """Monitor a container an earlier daemon started, from where that one left off."""
    record = container.record
    io = container.io = ProcessIO.restored(restored.fds)
    _stdin_closer(daemon, container, io)
    container.log = logdrivers.writer(record)
    _open_spools(container, resume=True)
    io.running(restored.fds.get("console"), _output(container), container.output.wait_for_room,
               _readers(container))
    if restored.exited is None:
        container.stopped.clear()
        container.started.set()
        health.resume(daemon, container)   # probes go on where the old daemon left them
    container.monitor = asyncio.create_task(_adopted(daemon, container, restored, start_again))


async def _adopted(daemon, container: Container, restored: Restored, start_again: StartAgain) -> None:
    status = restored.exited
    if status is None:
        try:
            status = await daemon.execdriver.resume(container.id)
        except ExecError as exc:
            log.error("monitor of %s: %s", container.id[:12], exc)
            status = ExitStatus(exit_code=137)
        except BaseException:
            if daemon.detaching:
                raise
            log.exception("monitor of %s failed", container.id[:12])
            status = ExitStatus(exit_code=137)
    await _exited(daemon, container, status, start_again)


async def _exited(daemon, container: Container, status: ExitStatus, start_again: StartAgain) -> None:
    record = container.record
    health.stop(container)
    # Leftover processes (daemons the command started) keep the pipes open: end them first.
    with span("exit: terminate leftovers"):
        await asyncio.to_thread(daemon.execdriver.terminate, container.id)
    await daemon.network.release(container)
    container.output.release()  # what is left is at most a pipe's worth: no more pausing
    with span("exit: drain output"):
        await container.io.finish()
    container.started.clear()
    close_log(container)
    container.output.close()
    mark_stopped(record, status.exit_code, oom_killed=status.oom_killed,
                 restarting=should_restart(container, status.exit_code))
    daemon.save(container)
    try:   # recorded and drained: the exec driver may let go of its copy of both
        with span("exit: execdriver forget"):
            await daemon.execdriver.forget(container.id)
    except ExecError as exc:
        log.error("container %s: %s", container.id[:12], exc)
    with span("exit: unmount volumes"):
        await asyncio.to_thread(volumes.unmount_all, daemon, container)
    with span("exit: unmount rootfs"):
        await asyncio.to_thread(daemon.graph.driver.put, container.id)
    await asyncio.to_thread(hostopts.unmount_shm, container)
    daemon.container_event(container, "die", exitCode=str(status.exit_code))
    container.stopped.set()
    _after_exit(daemon, container, status.exit_code, _ran_for(record), start_again)


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


# ---- the restart policy -------------------------------------------------------------

def should_restart(container: Container, exit_code: int) -> bool:
    policy = container.record.host_config.restart_policy
    if container.stop_requested:
        return False
    if policy.name in ("always", "unless-stopped"):
        return True
    if policy.name == "on-failure" and exit_code != 0:
        limit = policy.maximum_retry_count
        return limit == 0 or container.record.restart_count < limit
    return False


def restarts_with_daemon(container: Container) -> bool:
    """A stopped container that a starting daemon starts again, as Docker's: `always`
    (even one the user stopped), `unless-stopped` unless the user stopped it, and
    `on-failure` after a failure within its retries; never one that never ran."""
    record = container.record
    policy = record.host_config.restart_policy
    if record.host_config.auto_remove or record.state.started_at == ZERO_TIME:
        return False
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not record.has_been_manually_stopped
    if policy.name == "on-failure" and record.state.exit_code != 0:
        return policy.maximum_retry_count == 0 or record.restart_count < policy.maximum_retry_count
    return False


def _after_exit(daemon, container: Container, exit_code: int, ran_for: float,
                start_again: StartAgain) -> None:
    """Once a container has stopped and been recorded: schedule its restart, if due."""
    if not should_restart(container, exit_code):
        container.backoff = 0.0
        if container.record.host_config.auto_remove and daemon.remove_when_exited is not None:
            daemon.remove_when_exited(daemon, container)   # autoremove.schedule, wired by lifecycle.py
        return
    container.backoff = FIRST_BACKOFF if ran_for >= RESET_AFTER or not container.backoff \
        else container.backoff * 2
    container.record.state.restarting = True
    daemon.save(container)
    container.restart_task = asyncio.create_task(
        _restart_later(daemon, container, container.backoff, start_again))


async def _restart_later(daemon, container: Container, delay: float, start_again: StartAgain) -> None:
    await asyncio.sleep(delay)
    container.restart_task = None
    if container.id not in daemon.containers or container.stop_requested:
        return
    container.record.restart_count += 1
    try:
        await start_again(daemon, container)
    except Exception as exc:
        log.error("restarting %s failed: %s", container.id[:12], exc)
        container.record.state.restarting = False
        container.record.state.error = str(exc)
        daemon.save(container)


def cancel_restart(daemon, container: Container) -> bool:
    """Drop a pending restart (user stop/rm); True if there was one."""
    container.stop_requested = True
    task, container.restart_task = container.restart_task, None
    if task is None:
        return False
    task.cancel()
    container.record.state.restarting = False
    daemon.save(container)
    return True
