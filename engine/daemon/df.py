"""`system df` (GET /system/df, API 1.25): what images, containers and volumes take on
disk, in one snapshot. The lists are those of `images` and `ps -a -s`; what df adds
is each image's shared size and container count, the layers' total, and the volumes.

pyctr's classic builder keeps its cache as ordinary (intermediate) images, so there
is no build cache apart from the images: df reports none, and `image prune` frees it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..jobs import Job, JobArgs
from . import images, ps
from .args import ContainerList, ImageList
from ..api.records import ContainerSummary, ImageSummary, UsageData, VolumeRecord

if TYPE_CHECKING:
    from .daemon import Daemon


@dataclass
class DiskUsageQuery(JobArgs["DiskUsage"]):
    job: ClassVar[str] = "system_df"


@dataclass
class ImageUsage:
    summary: ImageSummary
    shared_size: int      # bytes of its layers that other listed images also use
    containers: int       # containers made from it


@dataclass
class DiskUsage:
    layers_size: int
    images: list[ImageUsage] = field(default_factory=list)
    containers: list[ContainerSummary] = field(default_factory=list)
    volumes: list[VolumeRecord] = field(default_factory=list)   # with UsageData


def _volume_usage(daemon: Daemon) -> list[VolumeRecord]:
    from .volume_jobs import tree_size, volume_record, volumes_in_use
    users = volumes_in_use(daemon)
    out = []
    for volume in daemon.volumes.list():
        record = volume_record(volume)
        record.usage_data = UsageData(tree_size(volume.mountpoint), users.get(volume.name, 0))
        out.append(record)
    return out


async def disk_usage(daemon: Daemon, job: Job[DiskUsageQuery]) -> DiskUsage:
    rows = {row.id: row for row in daemon.graph.rows()}
    summaries = await images.image_list(daemon, Job(ImageList.job, ImageList()))
    containers = await ps.container_list(daemon, Job(ContainerList.job, ContainerList(all=True, size=True)))

    def chain(image_id: str) -> list[str]:
        out: list[str] = []
        while image_id in rows and image_id not in out:
            out.append(image_id)
            image_id = rows[image_id].parent
        return out

    chains = {s.id: chain(s.id) for s in summaries}
    users: dict[str, int] = {}
    for layers in chains.values():
        for layer in layers:
            users[layer] = users.get(layer, 0) + 1
    made_from: dict[str, int] = {}
    for container in list(daemon.containers.values()):
        made_from[container.record.image] = made_from.get(container.record.image, 0) + 1
    usage = [ImageUsage(s, sum(rows[layer].size for layer in chains[s.id] if users[layer] > 1),
                        made_from.get(s.id, 0)) for s in summaries]
    volumes = await asyncio.to_thread(_volume_usage, daemon)
    return DiskUsage(sum(row.size for row in rows.values()), usage, containers, volumes)
