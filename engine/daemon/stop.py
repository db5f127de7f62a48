"""Signals and waiting: stop, kill, restart, wait, pause, unpause."""

from __future__ import annotations

import asyncio
import signal as signals

from ..errors import BadRequest, Conflict, NotModified
from ..execdriver.driver import ExecError
from ..jobs import Job
from .args import ContainerKill, ContainerRef, ContainerStop
from . import monitor
from .container import Container


def parse_signal(value: str | int) -> int:
    """"KILL", "SIGKILL", "kill" or "9" -> 9; anything else is a 400."""
    text = str(value).strip().upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < signals.NSIG:
            return number
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        if hasattr(signals.Signals, name):
            return int(signals.Signals[name])
    raise BadRequest(f"Invalid signal: {value}")


async def _deliver(daemon, container: Container, number: int) -> None:
    """Signal the container's first process. A paused one is thawed once the signal is
    queued, so it acts on it (as Docker does since 1.10; Docker 1.2 refused with
    "Unpause the container before stopping"); it is no longer paused afterwards."""
    daemon.execdriver.kill(container.id, number)
    if container.record.state.paused:
        try:
            await asyncio.to_thread(daemon.execdriver.unpause, container.id)
        except ExecError:
            if container.running:   # else it is gone already, cgroup and all
                raise
        container.record.state.paused = False
        daemon.save(container)


def _signal(daemon, container: Container, number: int) -> None:
    """The same, blocking (for `rm -f`, which kills and waits anyway)."""
    daemon.execdriver.kill(container.id, number)
    if container.record.state.paused:
        daemon.execdriver.unpause(container.id)
        container.record.state.paused = False
        daemon.save(container)


async def stop(daemon, container: Container, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still running after `timeout` seconds."""
    if not container.running:
        if monitor.cancel_restart(daemon, container):
            daemon.container_event(container, "stop")
            return
        raise NotModified("Container already stopped")
    container.stop_requested = True
    await _deliver(daemon, container, signals.SIGTERM)
    try:
        await asyncio.wait_for(container.stopped.wait(), timeout)
    except asyncio.TimeoutError:
        if container.running:
            await _deliver(daemon, container, signals.SIGKILL)
        await container.stopped.wait()
    if container.monitor is not None:
        await container.monitor
    daemon.container_event(container, "stop")


async def container_stop(daemon, job: Job) -> None:
    args: ContainerStop = job.args
    await stop(daemon, daemon.lookup(args.name), args.timeout)


async def container_kill(daemon, job: Job) -> None:
    args: ContainerKill = job.args
    container = daemon.lookup(args.name)
    number = parse_signal(args.signal or "KILL")
    if not container.running:
        raise Conflict(f"Container {args.name} is not running")
    if number in (signals.SIGKILL, signals.SIGTERM, signals.SIGINT):
        container.stop_requested = True
    await _deliver(daemon, container, number)
    daemon.container_event(container, "kill", signal=str(number))
    if number == signals.SIGKILL:  # as Docker: return once it is gone
        await container.stopped.wait()


async def container_restart(daemon, job: Job) -> None:
    from . import start
    args: ContainerStop = job.args
    container = daemon.lookup(args.name)
    if container.running:
        await stop(daemon, container, args.timeout)
    await start.start(daemon, container)
    daemon.container_event(container, "restart")


async def container_wait(daemon, job: Job) -> dict:
    args: ContainerRef = job.args
    container = daemon.lookup(args.name)
    await container.stopped.wait()
    if container.monitor is not None:
        await asyncio.shield(container.monitor)
    return {"StatusCode": container.record.state.exit_code}


async def container_pause(daemon, job: Job) -> None:
    args: ContainerRef = job.args
    container = daemon.lookup(args.name)
    if not container.running:
        raise Conflict(f"Container {args.name} is not running")
    if container.record.state.paused:
        raise Conflict(f"Container {args.name} is already paused")
    await asyncio.to_thread(daemon.execdriver.pause, container.id)
    container.record.state.paused = True
    daemon.save(container)
    daemon.container_event(container, "pause")


async def container_unpause(daemon, job: Job) -> None:
    args: ContainerRef = job.args
    container = daemon.lookup(args.name)
    if not container.record.state.paused:
        raise Conflict(f"Container {args.name} is not paused")
    await asyncio.to_thread(daemon.execdriver.unpause, container.id)
    container.record.state.paused = False
    daemon.save(container)
    daemon.container_event(container, "unpause")
