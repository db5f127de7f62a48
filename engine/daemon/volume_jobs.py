"""The volume API's jobs (`/volumes`, API 1.21+), as dockerd 20.10 answers them:
create (a name made up when none; an existing volume of that name is the answer),
list (filters name, label, driver, dangling), inspect, remove (`force`: a missing
volume is no error; a volume in use is refused all the same) and prune (every
volume no container uses, API 1.41's rule; filters label and label!)."""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..api import filters as F
from ..api.records import VolumeListReport, VolumePruneReport, VolumeRecord
from ..errors import BadRequest, Conflict, NotFound
from ..jobs import Job, JobArgs
from ..volumedriver import Volume, VolumeBadRequest, VolumeInUse, VolumeNotFound
from .volumes import driver_of, ensure_volume

if TYPE_CHECKING:
    from .daemon import Daemon

VOLUME_LIST = frozenset({"name", "label", "driver", "dangling"})
VOLUME_PRUNE = frozenset({"label", "label!"})


def tree_size(path: str) -> int:
    """The bytes of the files under `path` (as dockerd counts a volume)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue   # removed while we walk
    return total


@dataclass
class VolumeCreate(JobArgs[VolumeRecord]):
    job: ClassVar[str] = "volume_create"

    name: str = ""
    driver: str = ""
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class VolumeList(JobArgs[VolumeListReport]):
    job: ClassVar[str] = "volume_list"

    filters: F.Filters = field(default_factory=F.Filters)


@dataclass
class VolumeInspect(JobArgs[VolumeRecord]):
    job: ClassVar[str] = "volume_inspect"

    name: str


@dataclass
class VolumeRemove(JobArgs[None]):
    job: ClassVar[str] = "volume_remove"

    name: str
    force: bool = False


@dataclass
class VolumePrune(JobArgs[VolumePruneReport]):
    job: ClassVar[str] = "volume_prune"

    filters: F.Filters = field(default_factory=F.Filters)


def volume_record(volume: Volume) -> VolumeRecord:
    return VolumeRecord(name=volume.name, driver=volume.driver, mountpoint=volume.mountpoint,
                        created_at=volume.created_at, labels=dict(volume.labels),
                        options=dict(volume.options))


def volumes_in_use(daemon: Daemon) -> dict[str, int]:
    """Volume name -> how many containers (in any state) name it."""
    users: dict[str, int] = {}
    for container in list(daemon.containers.values()):
        for name in {m.name for m in container.record.mount_points if m.type == "volume"}:
            users[name] = users.get(name, 0) + 1
    return users


async def volume_create(daemon: Daemon, job: Job[VolumeCreate]) -> VolumeRecord:
    args = job.args
    driver = driver_of(daemon, args.driver)
    name = args.name or secrets.token_hex(32)
    volume, made = await asyncio.to_thread(ensure_volume, driver, name, args.driver_opts, args.labels)
    if volume.driver != driver.name:
        raise Conflict(f"create {name}: volume name must be unique: "
                       f"driver '{volume.driver}' already has volume '{name}'")
    if made:
        daemon.events.publish("create", volume.name, type="volume", driver=volume.driver)
    return volume_record(volume)


async def volume_list(daemon: Daemon, job: Job[VolumeList]) -> VolumeListReport:
    f = job.args.filters.validate(VOLUME_LIST)
    dangling = f.boolean("dangling")
    in_use = volumes_in_use(daemon)
    out = []
    for volume in await asyncio.to_thread(daemon.volumes.list):
        if not f.matches_pattern("name", volume.name) or not f.matches_exactly("driver", volume.driver):
            continue
        if not f.matches_labels(volume.labels):
            continue
        if dangling is not None and dangling == (volume.name in in_use):
            continue
        out.append(volume_record(volume))
    return VolumeListReport(out, [])


async def volume_inspect(daemon: Daemon, job: Job[VolumeInspect]) -> VolumeRecord:
    try:
        return volume_record(await asyncio.to_thread(daemon.volumes.get, job.args.name))
    except VolumeNotFound as exc:
        raise NotFound(str(exc)) from None


async def volume_remove(daemon: Daemon, job: Job[VolumeRemove]) -> None:
    name = job.args.name
    try:
        await asyncio.to_thread(daemon.volumes.remove, name)
    except VolumeNotFound as exc:
        if job.args.force:
            return
        raise NotFound(str(exc)) from None
    except VolumeInUse as exc:
        raise Conflict(str(exc)) from None
    except VolumeBadRequest as exc:
        raise BadRequest(str(exc)) from None
    daemon.events.publish("destroy", name, type="volume", driver=daemon.volumes.name)


async def volume_prune(daemon: Daemon, job: Job[VolumePrune]) -> VolumePruneReport:
    f = job.args.filters.validate(VOLUME_PRUNE)
    report = VolumePruneReport()
    for volume in await asyncio.to_thread(daemon.volumes.list):
        # The driver's holders, not a listing taken before: a container created meanwhile
        # holds its volume before its record is shown, and remove refuses a held volume.
        if not f.matches_prune_labels(volume.labels) or daemon.volumes.users(volume) or volume.options:
            continue
        size = await asyncio.to_thread(tree_size, volume.mountpoint)
        try:
            await asyncio.to_thread(daemon.volumes.remove, volume.name)
        except (VolumeInUse, VolumeNotFound):
            continue
        daemon.events.publish("destroy", volume.name, type="volume", driver=volume.driver)
        report.volumes_deleted.append(volume.name)
        report.space_reclaimed += size
    return report
