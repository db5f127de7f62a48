"""The daemon's jobs: each job's args type and the handler that runs it.

The engine dispatches on the args' type; each args class names its job (the
name the trace shows) and the record its handler returns (JobArgs[R])."""

from __future__ import annotations

import asyncio
import functools
import importlib
import sys
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..jobs import Engine, Job, JobArgs
from . import (attach, commit, create, images, inspect, kill, logs, pause, prune, ps, pull,
               push, registry_jobs, remove, rename, start, stats, stop, system, tarballs, top, wait)
from . import exec as exec_jobs
from .args import (AttachArgs, BuildArgs, ContainerChanges, ContainerCreate, ContainerExport,
                   ContainerInspect, ContainerKill, ContainerList, ContainerLogs, ContainerPause, ContainerPrune, ContainerRemove,
                   ContainerRename, ContainerResize, ContainerRestart, ContainerStart, ContainerStop,
                   ContainerTop, ContainerUnpause, ContainerWait, EventsQuery, ImageDelete, ImageHistory,
                   ImageImport, ImageInspect, ImageList, ImagePrune, ImageTag, InfoQuery, ObjectExists,
                   VersionQuery)
from .commit import CommitArgs
from .df import DiskUsageQuery, disk_usage
from .distribution import DistributionInspect, distribution_inspect
from . import networks, rmi
from .exec import ExecCreate, ExecInspect, ExecResize, ExecStart
from .registry_jobs import RegistryLogin, RegistryPull, RegistryPush, RegistrySearch
from .stats import ContainerStatsArgs
from . import volume_jobs
from .volume_jobs import VolumeCreate, VolumeInspect, VolumeList, VolumePrune, VolumeRemove
from .update import ContainerUpdate, container_update
from .tarballs import ArchiveGetArgs, CopyArgs, LoadArgs, PathStatArgs, PutArchiveArgs, SaveArgs

if TYPE_CHECKING:
    from .daemon import Daemon

DaemonHandler = Callable[["Daemon", Job[Any]], Awaitable[Any]]


async def image_build(daemon: Daemon, job: Job[BuildArgs]) -> str:
    """The builder (about 1 MiB of modules an idle daemon would hold) is imported, in a
    thread, by the first build."""
    name = f"{__package__}.build"
    build = sys.modules.get(name) or await asyncio.to_thread(importlib.import_module, name)
    return await build.image_build(daemon, job)

JOBS: dict[type[JobArgs], DaemonHandler] = {
    VersionQuery: system.version,
    InfoQuery: system.info,
    EventsQuery: system.events,
    ImageImport: images.image_import,
    ImageList: images.image_list,
    ImageInspect: images.image_inspect,
    ImageHistory: images.image_history,
    ImageTag: images.image_tag,
    ImageDelete: rmi.image_delete,
    RegistryPull: pull.image_pull,
    RegistryPush: push.image_push,
    RegistrySearch: registry_jobs.image_search,
    RegistryLogin: registry_jobs.registry_login,
    ContainerCreate: create.container_create,
    ContainerStart: start.container_start,
    ContainerStop: stop.container_stop,
    ContainerKill: kill.container_kill,
    ContainerRestart: stop.container_restart,
    ContainerWait: wait.container_wait,
    ContainerPause: pause.container_pause,
    ContainerUnpause: pause.container_unpause,
    ContainerRemove: remove.container_remove,
    ContainerRename: rename.container_rename,
    ContainerUpdate: container_update,
    ContainerList: ps.container_list,
    ContainerInspect: inspect.container_inspect,
    ObjectExists: inspect.object_exists,
    ContainerPrune: prune.container_prune,
    ImagePrune: prune.image_prune,
    ContainerTop: top.container_top,
    ContainerLogs: logs.container_logs,
    AttachArgs: attach.container_attach,
    ContainerResize: attach.container_resize,
    ExecCreate: exec_jobs.exec_create,
    ExecStart: exec_jobs.exec_start,
    ExecInspect: exec_jobs.exec_inspect,
    ExecResize: exec_jobs.exec_resize,
    ContainerStatsArgs: stats.container_stats,
    BuildArgs: image_build,
    CommitArgs: commit.container_commit,
    ContainerChanges: tarballs.container_changes,
    ContainerExport: tarballs.container_export,
    CopyArgs: tarballs.container_copy,
    PathStatArgs: tarballs.container_archive_stat,
    ArchiveGetArgs: tarballs.container_archive_get,
    PutArchiveArgs: tarballs.container_archive_put,
    SaveArgs: tarballs.image_save,
    LoadArgs: tarballs.image_load,
    DiskUsageQuery: disk_usage,
    DistributionInspect: distribution_inspect,
    VolumeCreate: volume_jobs.volume_create,
    VolumeList: volume_jobs.volume_list,
    VolumeInspect: volume_jobs.volume_inspect,
    VolumeRemove: volume_jobs.volume_remove,
    VolumePrune: volume_jobs.volume_prune,
    **networks.JOBS,
}


def install(engine: Engine, daemon: Daemon) -> None:
    for args_type, handler in JOBS.items():
        engine.register(args_type, functools.partial(handler, daemon))
