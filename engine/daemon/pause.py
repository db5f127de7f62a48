"""`pause` and `unpause`: freeze and thaw a running container's processes (the freezer cgroup)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import Conflict
from ..jobs import Job
from .args import ContainerPause, ContainerUnpause

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_pause(daemon: Daemon, job: Job[ContainerPause]) -> None:
    args = job.args
    container = daemon.lookup(args.name)
    if not container.running:
        raise Conflict(f"Container {args.name} is not running")
    if container.record.state.paused:
        raise Conflict(f"Container {args.name} is already paused")
    await asyncio.to_thread(daemon.execdriver.pause, container.id)
    container.record.state.paused = True
    daemon.save(container)
    daemon.container_event(container, "pause")


async def container_unpause(daemon: Daemon, job: Job[ContainerUnpause]) -> None:
    args = job.args
    container = daemon.lookup(args.name)
    if not container.record.state.paused:
        raise Conflict(f"Container {args.name} is not paused")
    await asyncio.to_thread(daemon.execdriver.unpause, container.id)
    container.record.state.paused = False
    daemon.save(container)
    daemon.container_event(container, "unpause")
