"""`inspect` of a container: its record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jobs import Job
from .args import ContainerInspect
from .records import ContainerRecord

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_inspect(daemon: Daemon, job: Job[ContainerInspect]) -> ContainerRecord:
    args = job.args
    return daemon.lookup(args.name).record
