"""`inspect` of a container (its record), and whether a network or volume exists."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..jobs import Job
from .args import ContainerInspect, ObjectExists
from .container_record import ContainerRecord

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_inspect(daemon: Daemon, job: Job[ContainerInspect]) -> ContainerRecord:
    args = job.args
    return daemon.lookup(args.name).record


# The networks a container can be on (HostConfig.NetworkMode), until user-defined ones.
NETWORKS = ("bridge", "host", "none")


async def object_exists(daemon: Daemon, job: Job[ObjectExists]) -> bool:
    args = job.args
    if args.kind == "network":
        return args.name in NETWORKS or daemon.network.user.lookup(args.name) is not None
    if args.kind == "plugin":
        return False   # pyctr has no plugins
    if args.kind == "volume":
        return any(v.name == args.name for v in await asyncio.to_thread(daemon.volumes.list))
    raise ValueError(f"no such kind of object: {args.kind}")
