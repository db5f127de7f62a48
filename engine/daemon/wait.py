"""`wait`: block until a container stops, then say its exit code."""

from __future__ import annotations

import asyncio

from ..jobs import Job
from .args import ContainerRef


async def container_wait(daemon, job: Job) -> dict:
    args: ContainerRef = job.args
    container = daemon.lookup(args.name)
    await container.stopped.wait()
    if container.monitor is not None:
        await asyncio.shield(container.monitor)
    return {"StatusCode": container.record.state.exit_code}
