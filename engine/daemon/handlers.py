"""The daemon's jobs: the name each is known by in the engine, and its handler."""

from __future__ import annotations

import functools

from ..jobs import Engine
from . import attach, create, images, inspect, names, ps, pull, push, registry_jobs, remove, start, stats, stop, system
from . import exec as exec_jobs
from . import build, commit, transport

JOBS = {
    "version": system.version,
    "info": system.info,
    "events": system.events,
    "image_import": images.image_import,
    "image_list": images.image_list,
    "image_inspect": images.image_inspect,
    "image_history": images.image_history,
    "image_tag": images.image_tag,
    "image_delete": images.image_delete,
    "image_pull": pull.image_pull,
    "image_push": push.image_push,
    "image_search": registry_jobs.image_search,
    "registry_login": registry_jobs.registry_login,
    "container_create": create.container_create,
    "container_start": start.container_start,
    "container_stop": stop.container_stop,
    "container_kill": stop.container_kill,
    "container_restart": stop.container_restart,
    "container_wait": stop.container_wait,
    "container_pause": stop.container_pause,
    "container_unpause": stop.container_unpause,
    "container_remove": remove.container_remove,
    "container_rename": names.container_rename,
    "container_list": ps.container_list,
    "container_inspect": inspect.container_inspect,
    "container_top": inspect.container_top,
    "container_logs": attach.container_logs,
    "container_attach": attach.container_attach,
    "container_resize": attach.container_resize,
    "exec_create": exec_jobs.exec_create,
    "exec_start": exec_jobs.exec_start,
    "exec_inspect": exec_jobs.exec_inspect,
    "exec_resize": exec_jobs.exec_resize,
    "container_stats": stats.container_stats,
    "image_build": build.image_build,
    "container_commit": commit.container_commit,
    "container_changes": transport.container_changes,
    "container_export": transport.container_export,
    "container_copy": transport.container_copy,
    "container_archive_stat": transport.container_archive_stat,
    "container_archive_get": transport.container_archive_get,
    "container_archive_put": transport.container_archive_put,
    "image_save": transport.image_save,
    "image_load": transport.image_load,
}


def install(engine: Engine, daemon) -> None:
    for name, handler in JOBS.items():
        engine.register(name, functools.partial(handler, daemon))
