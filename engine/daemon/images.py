"""Image jobs: import, list, inspect, history, tag and delete (rmi)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import TYPE_CHECKING

import aiohttp

from .. import barepackage
from ..api.config import ContainerConfig
from ..archive import ArchiveError
from ..builder.config_steps import apply_changes
from ..api import filters as F
from ..crashpoint import crash_point
from ..errors import BadRequest, Conflict
from ..graph import reference
from ..graph.graph import new_id, now_rfc3339
from ..graph.graphdb import ImageRow
from ..graph.image_record import ImageDetails, ImageRecord
from ..jobs import Job
from .args import ImageDelete, ImageHistory, ImageImport, ImageInspect, ImageList, ImageTag
from .container import parse_time
from ..api.records import HistoryEntry, ImageDeleted, ImageSummary

if TYPE_CHECKING:
    from .daemon import Daemon

def _timestamp(rfc3339: str) -> float:
    parsed = parse_time(rfc3339)
    return parsed.timestamp() if parsed else 0.0


def _unix(rfc3339: str) -> int:
    return int(_timestamp(rfc3339))


async def image_import(daemon: Daemon, job: Job[ImageImport]) -> str:
    args = job.args
    if args.repository:
        reference.validate_repository(reference.normalize(args.repository))
        reference.validate_tag(args.tag or reference.DEFAULT_TAG)
    config = None
    if args.changes:   # checked before the tarball is read: a bad change stores nothing
        config = ContainerConfig()
        try:
            apply_changes(config, args.changes)
        except ValueError as exc:
            raise BadRequest(f"invalid change: {exc}") from None
    record = ImageRecord(id=new_id(), created=now_rfc3339(),
                         comment=args.message or "Imported from " + args.source,
                         docker_version=_version(), config=config)
    async with daemon.graph.journal("import"):
        try:
            if args.source == "-":
                if args.body is None:
                    raise BadRequest("no tarball in the request body")
                await daemon.graph.register(record, args.body)
            else:
                path = await _download(daemon, args.source)
                try:
                    with open(path, "rb") as f:
                        await daemon.graph.register(record, f)
                finally:
                    os.unlink(path)
        except ArchiveError as exc:  # the client's tarball is bad, not the daemon
            raise BadRequest(f"Error processing tar file: {exc}") from None
        crash_point("import-before-tag")
        if args.repository:
            daemon.graph.tag(record.id, args.repository, args.tag, force=True)
    daemon.events.publish("import", record.id, type="image")
    return record.id


async def _download(daemon: Daemon, url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise BadRequest(f"Invalid import source {url!r}: give - (the request body) or an http(s) URL")
    fd, path = tempfile.mkstemp(dir=daemon.config.path("graph"), prefix="import-")
    try:
        with os.fdopen(fd, "wb") as out:
            await barepackage.loaded("aiohttp")   # not on the loop: see barepackage.py
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as response:
                    if response.status != 200:
                        raise BadRequest(f"Cannot import {url}: HTTP {response.status}")
                    async for chunk in response.content.iter_chunked(1 << 20):
                        await asyncio.to_thread(out.write, chunk)
    except aiohttp.ClientError as exc:
        os.unlink(path)
        raise BadRequest(f"Cannot import {url}: {exc}") from None
    except BaseException:
        os.unlink(path)
        raise
    return path


def _version() -> str:
    from .. import __version__
    return __version__


async def image_list(daemon: Daemon, job: Job[ImageList]) -> list[ImageSummary]:
    """dockerd 20.10's listing: untagged images with children only with `all`; the
    filters of API 1.41 (engine/api/filters.py), refused before anything is read."""
    args = job.args
    graph = daemon.graph
    f = args.filters.validate(F.IMAGE_LIST)
    dangling = f.boolean("dangling")
    patterns = [F.reference_pattern(p) for p in f.get("reference")]
    before = graph.resolve_id(f.single("before")) if "before" in f else None
    since = graph.resolve_id(f.single("since")) if "since" in f else None
    rows = {row.id: row for row in graph.rows()}
    tags: dict[str, list[str]] = {}
    digests: dict[str, list[str]] = {}
    for t in graph.db.references():  # tags, and references by digest (pull/push)
        if not t.is_digest:
            tags.setdefault(t.image_id, []).append(f"{t.repository}:{t.tag}")
        if t.digest and f"{t.repository}@{t.digest}" not in digests.get(t.image_id, []):
            digests.setdefault(t.image_id, []).append(f"{t.repository}@{t.digest}")
    sizes = ImageSizes(rows)
    users: dict[str, int] = {}
    for container in daemon.containers.values():
        users[container.record.image] = users.get(container.record.image, 0) + 1
    created = {image_id: _unix(row.created) for image_id, row in rows.items()}
    # before/since compare the full creation times, as dockerd does (not whole seconds)
    created_at = {image_id: _timestamp(row.created) for image_id, row in rows.items()}

    out = []
    for row in rows.values():
        repo_tags, repo_digests = sorted(tags.get(row.id, [])), sorted(digests.get(row.id, []))
        if not repo_tags and not repo_digests:
            if not args.all and sizes.has_children(row.id):
                continue
            if dangling is False or patterns:
                continue
        elif dangling is True:
            continue
        if before is not None and not created_at[row.id] < created_at[before]:
            continue
        if since is not None and not created_at[row.id] > created_at[since]:
            continue
        if patterns:  # only the references that match are shown
            repo_tags = [t for t in repo_tags if F.reference_matches(patterns, t)]
            repo_digests = [d for d in repo_digests if F.reference_matches(patterns, d)]
            if not repo_tags and not repo_digests:
                continue
        if args.repository:
            repo_tags = [t for t in repo_tags if reference.split_tag(t)[0] == args.repository]
            if not repo_tags:
                continue
        record = graph.db.image(row.id)
        labels = dict((record.config.labels if record and record.config else None) or {})
        if not f.matches_labels(labels):
            continue
        out.append(ImageSummary(repo_tags, row.id, row.parent, created[row.id], row.size,
                                sizes.virtual(row.id), repo_digests, labels=labels,
                                containers=users.get(row.id, 0), shared_size=sizes.shared(row.id)))
    out.sort(key=lambda s: s.created, reverse=True)
    return out


class ImageSizes:
    """An image's sizes from its chain of layers (each image row is one layer on its
    parent's): `virtual` is the whole chain's; `shared` is the part of it that other
    images' chains hold too, as dockerd counts SharedSize."""

    def __init__(self, rows: dict[str, ImageRow]) -> None:
        self.rows = rows
        self._virtual: dict[str, int] = {}
        self._users: dict[str, int] = {}   # layer -> how many images' chains hold it
        for image_id in rows:
            for layer in self.chain(image_id):
                self._users[layer] = self._users.get(layer, 0) + 1
        self._parents = {row.parent for row in rows.values() if row.parent}

    def chain(self, image_id: str) -> list[str]:
        chain = []
        while image_id in self.rows and image_id not in chain:
            chain.append(image_id)
            image_id = self.rows[image_id].parent
        return chain

    def has_children(self, image_id: str) -> bool:
        return image_id in self._parents

    def virtual(self, image_id: str) -> int:
        if image_id not in self._virtual:
            self._virtual[image_id] = sum(self.rows[layer].size for layer in self.chain(image_id))
        return self._virtual[image_id]

    def shared(self, image_id: str) -> int:
        return sum(self.rows[layer].size for layer in self.chain(image_id) if self._users[layer] > 1)


async def image_inspect(daemon: Daemon, job: Job[ImageInspect]) -> ImageDetails:
    args = job.args
    image = daemon.graph.resolve(args.name)
    refs = daemon.graph.tags(image.id)
    tags = [f"{t.repository}:{t.tag}" for t in refs if not t.is_digest]
    digests = sorted({f"{t.repository}@{t.digest}" for t in refs if t.digest})
    return ImageDetails(image, daemon.graph.virtual_size(image.id), tags, digests)


async def image_history(daemon: Daemon, job: Job[ImageHistory]) -> list[HistoryEntry]:
    args = job.args
    graph = daemon.graph
    image_id = graph.resolve_id(args.name)
    out = []
    for row in graph.history(image_id):
        record = graph.db.image(row.id)
        cmd = record.container_config.cmd if record else None
        tags = [f"{t.repository}:{t.tag}" for t in graph.tags(row.id)] or None
        out.append(HistoryEntry(row.id, _unix(row.created), " ".join(cmd or []), tags, row.size,
                                record.comment if record else ""))
    return out


async def image_tag(daemon: Daemon, job: Job[ImageTag]) -> None:
    args = job.args
    image_id = daemon.graph.resolve_id(args.name)
    daemon.graph.tag(image_id, args.repository, args.tag, args.force)
    daemon.events.publish("tag", image_id, type="image")


async def image_delete(daemon: Daemon, job: Job[ImageDelete]) -> list[ImageDeleted]:
    """Docker 1.2's rules: a tag name untags; the image goes when no tag, child or
    container holds it; untagged parents left without children go too (unless noprune)."""
    args = job.args
    graph = daemon.graph
    image_id = graph.resolve_id(args.name)
    image_tags = graph.tags(image_id)
    report: list[ImageDeleted] = []

    repo, tag = reference.split_tag(args.name)
    by_tag = graph.db.tag(repo, tag or reference.DEFAULT_TAG)
    if by_tag is not None and by_tag.image_id == image_id:
        to_untag = [by_tag]
    else:  # named by id: all its tags go, if that is what was meant
        if len(image_tags) > 1 and not args.force:
            raise Conflict(f"Conflict, cannot delete image {image_id[:12]} because it is tagged "
                           "in multiple repositories, use -f to force")
        to_untag = image_tags

    users = [daemon.containers[c] for c in graph.db.containers_using_image(image_id)
             if c in daemon.containers]
    remaining = len(image_tags) - len(to_untag)
    if remaining == 0 and users:
        running = [c for c in users if c.running]
        if running:
            raise Conflict(f"Conflict, cannot delete {image_id[:12]} because the running container "
                           f"{running[0].id[:12]} is using it, stop it and use -f to force")
        if not args.force:
            raise Conflict(f"Conflict, cannot delete {image_id[:12]} because the container "
                           f"{users[0].id[:12]} is using it, use -f to force")
    if not to_untag and graph.children(image_id):
        raise Conflict(f"Conflict, cannot delete {image_id[:12]} because it has children")

    for t in to_untag:
        graph.untag(t.repository, t.tag)
        report.append(ImageDeleted(untagged=f"{t.repository}:{t.tag}"))
        daemon.events.publish("untag", image_id, type="image")
    if remaining or users or graph.children(image_id):
        return report  # still held: untagging was all that could be done

    parent = (graph.db.image(image_id) or ImageRecord(id="")).parent
    await graph.delete(image_id)
    report.append(ImageDeleted(deleted=image_id))
    daemon.events.publish("delete", image_id, type="image")
    while parent and not args.noprune and _prunable(daemon, parent):
        next_parent = (graph.db.image(parent) or ImageRecord(id="")).parent
        await graph.delete(parent)
        report.append(ImageDeleted(deleted=parent))
        daemon.events.publish("delete", parent, type="image")
        parent = next_parent
    return report


def _prunable(daemon: Daemon, image_id: str) -> bool:
    graph = daemon.graph
    return (not graph.tags(image_id) and not graph.children(image_id)
            and not graph.db.containers_using_image(image_id))
