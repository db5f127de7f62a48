"""`stop` (SIGTERM, then SIGKILL after a timeout) and `restart` (a stop, then a start).

Not to be confused with monitor.py, whose restart policy acts when a container exits."""

from __future__ import annotations

import asyncio
import signal as signals
from typing import TYPE_CHECKING

from ..errors import NotModified
from ..jobs import Job
from . import monitor
from .args import ContainerRestart, ContainerStop
from .container import Container
from .signals import deliver

if TYPE_CHECKING:
    from .daemon import Daemon


async def stop(daemon: Daemon, container: Container, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still running after `timeout` seconds."""
    if not container.running:
        if monitor.cancel_restart(daemon, container):
            daemon.container_event(container, "stop")
            return
        raise NotModified("Container already stopped")
    container.stop_requested = True
    await deliver(daemon, container, signals.SIGTERM)
    try:
        await asyncio.wait_for(container.stopped.wait(), timeout)
    except asyncio.TimeoutError:
        if container.running:
            await deliver(daemon, container, signals.SIGKILL)
        await container.stopped.wait()
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
