"""`rmi` as today's dockerd does it (API 1.25+; older clients keep Docker 1.2's rules,
images.image_delete):

- by name (`repo:tag`, `repo@digest`): take that reference off; the image goes only when
  no reference is left (a tag's own repository's digest references go with the last tag of
  that repository). Refused without force when it is the image's only reference and a
  container uses the image.
- by id: with a single reference (one tag, and digests of its repository) it is taken
  off first; then the image is deleted unless a conflict stops it: dependent child
  images or a running container (hard: even with force), other references or a stopped
  container (soft: force overrides).
- untagged parents left unused go too (quietly stopping at the first held one) unless
  noprune.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Conflict
from ..graph import reference
from ..graph.graphdb import TagRow
from ..jobs import Job
from . import images
from .args import ImageDelete
from ..api.records import ImageDeleted

if TYPE_CHECKING:
    from .daemon import Daemon


class DeleteConflict(Conflict):
    def __init__(self, image_id: str, hard: bool, used: bool, what: str) -> None:
        forced = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {image_id[:12]} ({forced}) - {what}")
        self.used = used


def _named_by_id(image_id: str, name: str) -> bool:
    prefix = name.removeprefix("sha256:")
    return bool(prefix) and image_id.startswith(prefix)


def _single_reference(refs: list[TagRow]) -> bool:
    """One tag at most, and every digest reference in that tag's repository."""
    tags = [r for r in refs if not r.is_digest]
    if len(refs) <= 1:
        return len(refs) == 1
    if len(tags) > 1:
        return False
    repositories = {r.repository for r in refs if r.is_digest}
    return len(repositories) == 1 and (refs if not tags else tags)[0].repository in repositories


def _shown(row: TagRow) -> str:
    return f"{row.repository}@{row.tag}" if row.is_digest else f"{row.repository}:{row.tag}"


def _reference_row(daemon: Daemon, name: str, image_id: str) -> TagRow:
    graph = daemon.graph
    if "@" in name:   # its own digest reference, else the tag that was pulled at that digest
        repo, _, digest = name.partition("@")
        row = (graph.db.tag(reference.normalize(repo), digest)
               or graph.db.by_digest(reference.normalize(repo), digest))
    else:
        repo, tag = reference.split_tag(name)
        row = graph.db.tag(repo, tag or reference.DEFAULT_TAG)
    assert row is not None and row.image_id == image_id   # resolve_id found it so
    return row


def _untag(daemon: Daemon, image_id: str, row: TagRow, report: list[ImageDeleted]) -> None:
    daemon.graph.untag(row.repository, row.tag)
    report.append(ImageDeleted(untagged=_shown(row)))
    daemon.events.publish("untag", image_id, type="image")


def _conflict(daemon: Daemon, image_id: str, soft: bool, references: bool = True) -> DeleteConflict | None:
    graph = daemon.graph
    if graph.children(image_id):
        return DeleteConflict(image_id, True, False, "image has dependent child images")
    users = [daemon.containers[c] for c in graph.db.containers_using_image(image_id)
             if c in daemon.containers]
    running = [c for c in users if c.running]
    if running:
        return DeleteConflict(image_id, True, True,
                              f"image is being used by running container {running[0].id[:12]}")
    if soft and references and graph.db.references(image_id):
        return DeleteConflict(image_id, False, False, "image is referenced in multiple repositories")
    if soft and users:
        return DeleteConflict(image_id, False, True,
                              f"image is being used by stopped container {users[0].id[:12]}")
    return None


async def _delete(daemon: Daemon, image_id: str, report: list[ImageDeleted], force: bool,
                  prune: bool, quiet: bool) -> None:
    graph = daemon.graph
    while True:
        conflict = _conflict(daemon, image_id, soft=not force)
        if conflict is not None:
            dangling = not graph.db.references(image_id) and not graph.children(image_id)
            if quiet and (not dangling or conflict.used):
                return   # a parent someone still holds, or a reference that only was untagged
            raise conflict
        record = graph.db.image(image_id)
        parent = record.parent if record is not None else ""
        for row in graph.db.references(image_id):
            _untag(daemon, image_id, row, report)
        await graph.delete(image_id)
        report.append(ImageDeleted(deleted=image_id))
        daemon.events.publish("delete", image_id, type="image")
        if not prune or not parent:
            return
        image_id, force, quiet = parent, False, True


async def image_delete(daemon: Daemon, job: Job[ImageDelete]) -> list[ImageDeleted]:
    args = job.args
    if not args.today:
        return await images.image_delete(daemon, job)
    graph = daemon.graph
    image_id = graph.resolve_id(args.name)
    refs = graph.db.references(image_id)
    report: list[ImageDeleted] = []
    untagged_only = False
    if not _named_by_id(image_id, args.name):
        row = _reference_row(daemon, args.name, image_id)
        users = [c for c in graph.db.containers_using_image(image_id) if c in daemon.containers]
        if not args.force and _single_reference(refs) and users:
            raise Conflict(f'conflict: unable to remove repository reference "{args.name}" (must force) '
                           f"- container {users[0][:12]} is using its referenced image {image_id[:12]}")
        _untag(daemon, image_id, row, report)
        refs = graph.db.references(image_id)
        if not row.is_digest and not any(not r.is_digest and r.repository == row.repository for r in refs):
            for digest_row in [r for r in refs if r.is_digest and r.repository == row.repository]:
                _untag(daemon, image_id, digest_row, report)
            refs = graph.db.references(image_id)
        if refs:
            return report   # still referenced: the untag was the whole removal
        untagged_only = True
    elif _single_reference(refs):
        conflict = _conflict(daemon, image_id, soft=not args.force, references=False)
        if conflict is not None:
            raise conflict
        for row in refs:
            _untag(daemon, image_id, row, report)
    await _delete(daemon, image_id, report, args.force, not args.noprune, quiet=untagged_only)
    return report
