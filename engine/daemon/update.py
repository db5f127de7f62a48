"""`update` (POST /containers/(id)/update, API 1.22; `docker update`): new resource
limits and restart policy for a container, into its cgroup at once when it runs.

As dockerd: a field left empty (0, "") keeps the container's value; the request is
checked whole before anything changes, and the record changes only once the kernel
took the new limits.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ..api.applied import UPDATABLE, is_empty
from ..api.codec import api_key
from ..api.config import HostConfig
from ..api.records import ContainerUpdated
from ..errors import BadRequest, ServerError
from ..execdriver.driver import ExecError
from ..jobs import Job, JobArgs
from . import limits
from .create import _validate

if TYPE_CHECKING:
    from .daemon import Daemon


@dataclass
class ContainerUpdate(JobArgs[ContainerUpdated]):
    job: ClassVar[str] = "container_update"

    name: str
    changes: HostConfig           # the request's body, decoded as a HostConfig
    given: frozenset[str] = frozenset()   # the API names of the fields it set (non-empty)


def _field_names() -> dict[str, str]:
    """API name -> HostConfig attribute, for the updatable fields."""
    out = {}
    for f in dataclasses.fields(HostConfig):
        key = api_key(f)
        if key in UPDATABLE:
            out[key] = f.name
    return out


def given_fields(body: dict) -> frozenset[str]:
    return frozenset(k for k, v in body.items() if k in UPDATABLE and not is_empty(v))


async def container_update(daemon: Daemon, job: Job[ContainerUpdate]) -> ContainerUpdated:
    args = job.args
    container = daemon.lookup(args.name)
    record = container.record
    host = copy.deepcopy(record.host_config)
    config = copy.deepcopy(record.config)
    names = _field_names()
    current = record.host_config
    if "NanoCpus" in args.given and (current.cpu_period or current.cpu_quota) \
            and not {"CpuPeriod", "CpuQuota"} & args.given:
        raise BadRequest("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if {"CpuPeriod", "CpuQuota"} & args.given and current.nano_cpus and "NanoCpus" not in args.given:
        which = "CPU Period" if "CpuPeriod" in args.given else "CPU Quota"
        raise BadRequest(f"Conflicting options: {which} cannot be updated as NanoCPUs has already been set")
    for key in args.given:
        setattr(host, names[key], copy.deepcopy(getattr(args.changes, names[key])))
    if "RestartPolicy" in args.given and host.auto_remove and host.restart_policy.name not in ("", "no"):
        raise BadRequest("Restart policy cannot be updated because AutoRemove is enabled for the container")
    if "Memory" in args.given and "MemorySwap" not in args.given and host.memory_swap > 0 \
            and host.memory > host.memory_swap:
        raise BadRequest("Memory limit should be smaller than already set memoryswap limit, "
                         "update the memoryswap at the same time")
    # Config carries Docker 1.2's copy of the limits: the update's win there too.
    config.memory, config.memory_swap = host.memory, host.memory_swap
    config.cpu_shares, config.cpuset = host.cpu_shares, host.cpuset_cpus
    warnings = _validate(config, host)
    limits.mirror(config, host)
    async with container.lock:
        if container.running:
            try:
                warnings += await asyncio.to_thread(daemon.execdriver.update, container.id,
                                                    limits.resources(config, host))
            except ExecError as e:
                raise ServerError(str(e)) from None
        record.host_config, record.config = host, config
        daemon.save(container)
    daemon.container_event(container, "update")
    return ContainerUpdated(warnings)
