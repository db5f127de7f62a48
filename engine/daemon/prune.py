"""`POST /containers/prune` and `POST /images/prune` (API 1.25): remove what
nothing uses, as dockerd 20.10 does, answering what went and the space it freed.

Nothing in use goes. A container prune skips running, paused and restarting
containers and any container a job holds (a start, stop or rm under way: its
lock is taken), and `rm` checks again under that lock. An image prune skips
every image a container (in any state) was made from; by default it takes only
dangling images (untagged, no children), with `dangling=false` every image no
container uses (tagged ones through their tags, as `rmi` would)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..api import filters as F
from ..errors import Conflict, NotFound
from ..jobs import Job
from .args import ContainerPrune, ContainerRemove, ImageDelete, ImagePrune
from .container import parse_time
from .create import init_layer_id
from ..api.records import ContainerPruneReport, ImageDeleted, ImagePruneReport

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon


def _until(filters: F.Filters) -> float | None:
    value = filters.single("until")
    return None if value is None else F.timestamp(value, time.time())


def _created(rfc3339: str) -> float:
    parsed = parse_time(rfc3339)
    return parsed.timestamp() if parsed else 0.0


def _prunable_container(container: Container) -> bool:
    state = container.record.state
    return not (state.running or state.paused or state.restarting or container.lock.locked())


async def container_prune(daemon: Daemon, job: Job[ContainerPrune]) -> ContainerPruneReport:
    from .remove import container_remove
    f = job.args.filters.validate(F.CONTAINER_PRUNE)
    until = _until(f)
    candidates = [c for c in list(daemon.containers.values())
                  if (until is None or _created(c.record.created) <= until)
                  and f.matches_prune_labels(c.record.config.labels)]
    deleted: list[str] = []
    reclaimed = 0
    for container in candidates:
        if container.id not in daemon.containers or not _prunable_container(container):
            continue
        size = await asyncio.to_thread(_rw_size, daemon, container)
        # Checked just before, with no await between: rm finds it as prune saw it, and
        # checks again under the container's lock (a start that won the lock wins).
        if not _prunable_container(container):
            continue
        try:
            await container_remove(daemon, Job(ContainerRemove.job, ContainerRemove(container.id)))
        except (Conflict, NotFound):
            continue
        deleted.append(container.id)
        reclaimed += size
    daemon.events.publish("prune", "", type="container", reclaimed=str(reclaimed))
    return ContainerPruneReport(containers_deleted=deleted or None, space_reclaimed=reclaimed)


def _rw_size(daemon: Daemon, container: Container) -> int:
    try:
        return daemon.graph.driver.diff_size(container.id, init_layer_id(container.id))
    except Exception:   # a layer already gone: nothing to reclaim
        return 0


async def image_prune(daemon: Daemon, job: Job[ImagePrune]) -> ImagePruneReport:
    from .images import image_delete
    f = job.args.filters.validate(F.IMAGE_PRUNE)
    dangling_only = f.boolean("dangling") is not False
    until = _until(f)
    graph = daemon.graph
    rows = {row.id: row for row in graph.rows()}
    parents = {row.parent for row in rows.values() if row.parent}
    references: dict[str, list[str]] = {}
    tagged: set[str] = set()
    for ref in graph.db.references():
        if ref.is_digest:
            references.setdefault(ref.image_id, []).append(f"{ref.repository}@{ref.digest}")
        else:
            references.setdefault(ref.image_id, []).append(f"{ref.repository}:{ref.tag}")
            tagged.add(ref.image_id)

    report: list[ImageDeleted] = []
    for image_id, row in rows.items():
        if dangling_only and (image_id in tagged or image_id in parents):
            continue
        if until is not None and _created(row.created) > until:
            continue
        record = graph.db.image(image_id)
        labels = (record.config.labels if record and record.config else None) or {}
        if not f.matches_prune_labels(labels):
            continue
        if _in_use(daemon, image_id):
            continue
        names = references.get(image_id) or [image_id]
        for name in names:
            if _in_use(daemon, image_id):   # a container made from it since
                break
            try:
                report += await image_delete(daemon, Job(ImageDelete.job, ImageDelete(name)))
            except (Conflict, NotFound):
                continue
    reclaimed = sum(rows[line.deleted].size for line in report if line.deleted in rows)
    daemon.events.publish("prune", "", type="image", reclaimed=str(reclaimed))
    return ImagePruneReport(images_deleted=report or None, space_reclaimed=reclaimed)


def _in_use(daemon: Daemon, image_id: str) -> bool:
    return (any(c.record.image == image_id for c in daemon.containers.values())
            or bool(daemon.graph.db.containers_using_image(image_id)))
