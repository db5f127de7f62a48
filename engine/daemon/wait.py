"""`wait`: block until a container stops, then say its exit code."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..jobs import Job
from .args import ContainerWait
from .results import ExitStatus

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_wait(daemon: Daemon, job: Job[ContainerWait]) -> ExitStatus:
    args = job.args
    container = daemon.lookup(args.name)
    await container.stopped.wait()
    if container.monitor is not None:
        await asyncio.shield(container.monitor)
    return ExitStatus(container.record.state.exit_code)
