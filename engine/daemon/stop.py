"""`stop` (SIGTERM, then SIGKILL after a timeout) and `restart` (a stop, then a start).

Not to be confused with monitor.py, whose restart policy acts when a container exits."""

from __future__ import annotations

import asyncio
import contextlib
import signal as signals
from typing import TYPE_CHECKING

from ..errors import NotModified
from ..jobs import Job
from . import monitor
from .args import ContainerRestart, ContainerStop
from .container import Container
from .signals import ProcessGone, deliver, parse_signal, wait_killed

if TYPE_CHECKING:
    from .daemon import Daemon


DEFAULT_TIMEOUT = 10


def stop_timeout(container: Container, asked: float | None) -> float | None:
    """The seconds to wait before SIGKILL: the request's, else the container's
    StopTimeout, else 10; None (StopTimeout or t of -1) waits for ever, as Docker."""
    value = asked if asked is not None else container.record.config.stop_timeout
    if value is None:
        return DEFAULT_TIMEOUT
    return None if value < 0 else value


async def stop(daemon: Daemon, container: Container, timeout: float | None,
               manual: bool = True) -> None:
    """The container's StopSignal (SIGTERM by default), then SIGKILL if it is still
    running after `timeout` seconds (None: the container's StopTimeout). `manual`: the
    user asked (not the daemon's shutdown), so `unless-stopped` keeps it down."""
    if not container.running:
        if monitor.cancel_restart(daemon, container):
            if manual:
                container.record.has_been_manually_stopped = True
                daemon.save(container)
            daemon.container_event(container, "stop")
            return
        async with container.lock:   # a restart past its back-off holds it while it starts
            pass
        if not container.running:
            raise NotModified("Container already stopped")
    container.stop_requested = True
    if manual:
        container.record.has_been_manually_stopped = True
        daemon.save(container)
    wait = stop_timeout(container, timeout)
    with contextlib.suppress(ProcessGone):   # it exited on its own meanwhile: wait for that
        await deliver(daemon, container, parse_signal(container.record.config.stop_signal or "SIGTERM"))
    try:
        await asyncio.wait_for(container.stopped.wait(), wait)
    except asyncio.TimeoutError:
        if container.running:
            with contextlib.suppress(ProcessGone):
                await deliver(daemon, container, signals.SIGKILL)
        await wait_killed(container)
    if container.monitor is not None:
        await container.monitor
    daemon.container_event(container, "stop")


async def container_stop(daemon: Daemon, job: Job[ContainerStop]) -> None:
    args = job.args
    await stop(daemon, daemon.lookup(args.name), args.timeout)


async def container_restart(daemon: Daemon, job: Job[ContainerRestart]) -> None:
    from . import start
    args = job.args
    container = daemon.lookup(args.name)
    if container.running:
        await stop(daemon, container, args.timeout)
    await start.start(daemon, container)
    daemon.container_event(container, "restart")
