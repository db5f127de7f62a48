"""The daemon's jobs: each job's args type and the handler that runs it.

The engine dispatches on the args' type; each args class names its job (the
name the trace shows) and the record its handler returns (JobArgs[R])."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..jobs import Engine, Job, JobArgs
from . import (attach, build, commit, create, images, inspect, kill, logs, pause, prune, ps, pull,
               push, registry_jobs, remove, rename, start, stats, stop, system, tarballs, top, wait)
from . import exec as exec_jobs
from .args import (AttachArgs, ContainerChanges, ContainerCreate, ContainerExport, ContainerInspect,
                   ContainerKill, ContainerList, ContainerLogs, ContainerPause, ContainerPrune, ContainerRemove,
                   ContainerRename, ContainerResize, ContainerRestart, ContainerStart, ContainerStop,
                   ContainerTop, ContainerUnpause, ContainerWait, EventsQuery, ImageDelete, ImageHistory,
                   ImageImport, ImageInspect, ImageList, ImagePrune, ImageTag, InfoQuery, ObjectExists,
                   VersionQuery)
from .build import BuildArgs
from .commit import CommitArgs
from .df import DiskUsageQuery, disk_usage
from .distribution import DistributionInspect, distribution_inspect
from . import rmi
from .exec import ExecCreate, ExecInspect, ExecResize, ExecStart
from .registry_jobs import RegistryLogin, RegistryPull, RegistryPush, RegistrySearch
from .stats import ContainerStatsArgs
from .tarballs import ArchiveGetArgs, CopyArgs, LoadArgs, PathStatArgs, PutArchiveArgs, SaveArgs

if TYPE_CHECKING:
    from .daemon import Daemon

DaemonHandler = Callable[["Daemon", Job[Any]], Awaitable[Any]]

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
    BuildArgs: build.image_build,
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
}


def install(engine: Engine, daemon: Daemon) -> None:
    for args_type, handler in JOBS.items():
        engine.register(args_type, functools.partial(handler, daemon))
