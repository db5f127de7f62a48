"""The graph: images as layers in a graph driver, described by rows in the graph DB.

A layer's content lives in the driver under the image id; its metadata,
parent link and tags live in the DB. `register` is the only way in: it
unpacks into a fresh layer and adds the row only when the layer is complete,
so a failed import leaves neither.

Crash safety: the DB row is the commit point of a layer. A layer on disk
without a row is one a dead daemon was still writing; `register` replaces it
and the start-up sweep (daemon/sweep.py) removes it. An operation that
registers several images and then tags them (pull, load, import, commit) runs
inside `journal()`: a file under graph/journal/ lists what it registered until
it is done, and the sweep rolls back the images of a journal a dead daemon left.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import logging
import os
import secrets
from typing import AsyncIterator, BinaryIO, Callable

from ..crashpoint import crash_point
from ..errors import BadRequest, Conflict, NotFound
from ..graphdriver.driver import GraphDriver, LayerExists
from . import reference
from .graphdb import GraphDB, ImageRow, LayerRow, TagRow
from .image_record import ImageRecord


log = logging.getLogger("pyctr.graph")


class Journal:
    """One operation's list of what it made, in graph/journal/<id> while it runs.

    Lines are "image <id>" or "container <id>"; each is appended (and flushed to the
    kernel, which outlives a killed daemon) before the thing is made, so a crash
    at any point leaves a journal that names everything that may need undoing."""

    def __init__(self, directory: str, operation: str) -> None:
        os.makedirs(directory, 0o700, exist_ok=True)
        self.path = os.path.join(directory, f"{operation}-{secrets.token_hex(8)}")
        self._file = open(self.path, "x", buffering=1)
        self.token: contextvars.Token | None = None

    def note(self, kind: str, ident: str) -> None:
        self._file.write(f"{kind} {ident}\n")
        self._file.flush()

    def end(self) -> None:
        """The operation is complete (or was rolled back by its own handler)."""
        if self.token is not None:
            current_journal.reset(self.token)
            self.token = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):   # a line a full disk refused is moot now
            self._file.close()

    @staticmethod
    def read(path: str) -> list[tuple[str, str]]:
        entries = []
        with open(path, errors="replace") as f:
            for line in f:
                kind, _, ident = line.strip().partition(" ")
                if kind and ident:
                    entries.append((kind, ident))
        return entries


# The journal of the operation this task runs in (copied into the tasks it starts).
current_journal: contextvars.ContextVar[Journal | None] = contextvars.ContextVar(
    "current_journal", default=None)


def new_id() -> str:
    return secrets.token_hex(32)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class Graph:
    def __init__(self, driver: GraphDriver, db: GraphDB, journal_dir: str = "") -> None:
        self.driver = driver
        self.db = db
        self.journal_dir = journal_dir
        self._making: set[str] = set()   # layers being written by this daemon right now

    def begin(self, operation: str) -> "Journal | None":
        """Start a journal for a multi-step operation (see the module's docstring) and
        make it the current task's; end() it when the operation is over, also on an
        error (the handler's own rollback has run by then). Only a dead daemon leaves
        one behind."""
        if not self.journal_dir:
            return None
        journal = Journal(self.journal_dir, operation)
        journal.token = current_journal.set(journal)
        return journal

    @contextlib.asynccontextmanager
    async def journal(self, operation: str) -> AsyncIterator["Journal | None"]:
        journal = self.begin(operation)
        try:
            yield journal
        finally:
            if journal is not None:
                journal.end()

    # --- lookup ---------------------------------------------------------
    def resolve(self, name: str) -> ImageRecord:
        """An image by `repo[:tag]`, full id or unique id prefix (Docker 1.2's order)."""
        image_id = self.resolve_id(name)
        image = self.db.image(image_id)
        assert image is not None
        return image

    def resolve_id(self, name: str) -> str:
        if not name:
            raise NotFound("No such image: (empty name)")
        if "@" in name:  # repo@sha256:... (pulled by, or pulled at, that digest)
            repo, _, digest = name.partition("@")
            by_digest = self.db.by_digest(reference.normalize(repo), digest)
            if by_digest is None:
                raise NotFound(f"No such image: {name}")
            return by_digest.image_id
        repo, tag = reference.split_tag(name)
        row = self.db.tag(repo, tag or reference.DEFAULT_TAG)
        if row is not None:
            return row.image_id
        prefix = name.removeprefix("sha256:")
        if all(c in "0123456789abcdef" for c in prefix):
            ids = self.db.image_ids_with_prefix(prefix)
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise Conflict(f"ambiguous image id prefix {name!r}: matches more than one image")
        raise NotFound(f"No such image: {name}")

    def exists(self, image_id: str) -> bool:
        return self.db.image(image_id) is not None

    # --- adding ---------------------------------------------------------
    async def register(self, record: ImageRecord, layer: BinaryIO | None,
                       layer_row: LayerRow | None = None,
                       verify: Callable[[], None] | None = None) -> ImageRecord:
        """Create the layer for `record` (unpacking `layer`, a tar), then add its row
        (and, for an image from a registry, what the registry knows its layer by).
        `verify`, called in the worker thread after unpacking, may raise to reject the
        layer (a diff id that does not match): it is then removed, never registered."""
        if record.parent and not self.exists(record.parent):
            raise NotFound(f"No such image: {record.parent} (parent of {record.id})")
        record.created = record.created or now_rfc3339()
        if record.id in self._making:
            raise LayerExists(f"layer {record.id} is being written already")
        journal = current_journal.get()
        if journal is not None:
            journal.note("image", record.id)
        self._making.add(record.id)
        try:
            await asyncio.to_thread(self._make_layer, record, layer, verify)
            try:
                crash_point("register-before-row")
                with self.db.transaction():
                    self.db.add_image(record)
                    if layer_row is not None:
                        self.db.set_layer(layer_row)
            except BaseException:
                await asyncio.to_thread(self.driver.remove, record.id)
                raise
        finally:
            self._making.discard(record.id)
        return record

    def _make_layer(self, record: ImageRecord, layer: BinaryIO | None,
                    verify: Callable[[], None] | None = None) -> None:
        if self.driver.leftover(record.id) and self.db.image(record.id) is None:
            # Written by a daemon that died before the row: never complete, so replace it.
            log.info("replacing the unfinished layer %s a dead daemon left", record.id[:12])
            self.driver.discard(record.id)
        self.driver.create(record.id, record.parent or None)
        try:
            if layer is not None:
                record.size = self.driver.apply_diff(record.id, record.parent or None, layer)
            crash_point("register-unpacked")
            if verify is not None:
                verify()
        except BaseException:
            self.driver.remove(record.id)
            raise

    # --- tags -----------------------------------------------------------
    def set_digest_reference(self, image_id: str, repository: str, digest: str) -> None:
        """`repository@digest` names `image_id` (a pull by digest)."""
        if self.db.by_digest(repository, digest) is None:
            self.db.set_tag(repository, digest, image_id, digest)

    def tag(self, image_id: str, repository: str, tag: str, force: bool = False,
            digest: str = "") -> None:
        repository = reference.normalize(repository)
        reference.validate_repository(repository)
        tag = tag or reference.DEFAULT_TAG
        reference.validate_tag(tag)
        existing = self.db.tag(repository, tag)
        if existing and existing.image_id != image_id and not force:
            raise Conflict(
                f"Conflict: Tag {tag} is already set to image {existing.image_id[:12]}, "
                "if you want to replace it, please use -f option")
        self.db.set_tag(repository, tag, image_id, digest)

    def untag(self, repository: str, tag: str) -> None:
        self.db.delete_tag(repository, tag)

    def tags(self, image_id: str | None = None) -> list[TagRow]:
        return self.db.tags(image_id)

    # --- reading --------------------------------------------------------
    def rows(self) -> list[ImageRow]:
        return self.db.image_rows()

    def history(self, image_id: str) -> list[ImageRow]:
        return self.db.ancestry(image_id)

    def virtual_size(self, image_id: str) -> int:
        return sum(row.size for row in self.db.ancestry(image_id))

    def children(self, image_id: str) -> list[str]:
        return self.db.children(image_id)

    # --- removing -------------------------------------------------------
    async def delete(self, image_id: str) -> None:
        """Remove an untagged, childless image's row, then its layer."""
        if self.db.children(image_id):
            raise Conflict(f"Conflict, cannot delete {image_id[:12]} because it has children")
        if self.db.tags(image_id):
            raise BadRequest(f"image {image_id[:12]} is still tagged")
        self.db.delete_image(image_id)
        await asyncio.to_thread(self.driver.remove, image_id)
