"""`rm`: a container's record, layers, directory and (with -v) its anonymous volumes."""

from __future__ import annotations

import asyncio
import shutil
import signal
from typing import TYPE_CHECKING

from ..crashpoint import crash_point
from ..errors import Conflict, NotFound
from ..jobs import Job
from ..tracing import span
from . import hostopts, monitor, volumes
from .network import sync_link_record
from .args import ContainerRemove
from .create import remove_layers
from .signals import deliver_blocking, wait_killed

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_remove(daemon: Daemon, job: Job[ContainerRemove]) -> None:
    args = job.args
    if args.link:
        _remove_link(daemon, args.name)
        return
    container = daemon.lookup(args.name)
    if container.running and not args.force:
        raise Conflict(
            f"Conflict, You cannot remove a running container {container.id[:12]}. "
            "Stop the container before attempting removal or use -f")
    monitor.cancel_restart(daemon, container)
    if container.running:
        deliver_blocking(daemon, container, signal.SIGKILL)
        await wait_killed(container)
    if container.monitor is not None:
        await asyncio.shield(container.monitor)
    async with container.lock:
        if container.id not in daemon.containers:
            raise NotFound(f"No such container: {args.name}")
        if container.running and not args.force:   # started while this rm waited for the lock
            raise Conflict(
                f"Conflict, You cannot remove a running container {container.id[:12]}. "
                "Stop the container before attempting removal or use -f")
        parents = [p for p, _ in daemon.graph.db.linked_by(container.id)]
        daemon.forget(container.id)   # its link edges go with it, as in 1.2
        crash_point("rm-row-deleted")   # the commit point: what is left of it is swept
        del daemon.containers[container.id]
        container.removed.set()
        for parent_id in parents:   # their HostConfig.Links no longer list it
            if parent_id in daemon.containers:
                sync_link_record(daemon, daemon.containers[parent_id])
                daemon.save(daemon.containers[parent_id])
        with span("rm: terminate"):
            await asyncio.to_thread(daemon.execdriver.terminate, container.id)
        with span("rm: layers"):
            await asyncio.to_thread(remove_layers, daemon.graph.driver, container.id)
        crash_point("rm-layers-removed")
        if daemon.unwritten:   # its layers' room may be what a deferred record change needed
            daemon.flush_pending()
        with span("rm: volumes and directory"):
            await asyncio.to_thread(volumes.release, daemon, container, args.volumes)
            await asyncio.to_thread(hostopts.unmount_shm, container)   # a crash may have left it
            await asyncio.to_thread(shutil.rmtree, container.root, True)
    daemon.container_event(container, "destroy")


def _remove_link(daemon: Daemon, name: str) -> None:
    """`rm -l /web/db`: drop the link `db` of container `web`."""
    parent_name, _, alias = name.strip("/").rpartition("/")
    if not parent_name:
        raise Conflict("Conflict, cannot remove the default name of the container")
    parent = daemon.lookup(parent_name)
    if not any(a == alias for _, a in daemon.graph.db.links_of(parent.id)):
        raise NotFound(f"No such link: {name}")
    daemon.graph.db.remove_link(parent.id, alias)
    sync_link_record(daemon, parent)
    daemon.save(parent)
