"""`inspect` of a container: its record."""

from __future__ import annotations

from ..jobs import Job
from .args import ContainerRef
from .records import ContainerRecord


async def container_inspect(daemon, job: Job) -> ContainerRecord:
    args: ContainerRef = job.args
    return daemon.lookup(args.name).record
