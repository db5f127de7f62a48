"""The graph DB: one SQLite file (through sqlite-utils) that is the single source
of truth for images, their parent links, tags, container records, names and links.

Docker 1.2 kept images as JSON files, tags in repositories.json and the
name/link graph in a separate SQLite graph DB; here one database holds all of
it, so `images --tree`, `history` and name lookups are queries, and every
change (e.g. "add image and tag it") is one transaction that a crash cannot
leave half-done.

Queries run on the event loop thread: they are local, indexed and take
microseconds (WAL mode, synchronous=NORMAL); a thread hop would cost more.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import sqlite_utils

from ..codec import from_api, to_api
from .records import ImageRecord

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ImageRow:
    """What listing needs, without decoding every image's config."""

    id: str
    parent: str
    created: str
    size: int


@dataclass(frozen=True)
class TagRow:
    repository: str
    tag: str
    image_id: str
    digest: str


class GraphDB:
    def __init__(self, path: str) -> None:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._create_schema()

    def close(self) -> None:
        self.db.conn.close()

    def _create_schema(self) -> None:
        db = self.db
        if "images" not in db.table_names():
            db["images"].create(
                {"id": str, "parent": str, "created": str, "size": int, "record": str},
                pk="id")
            db["images"].create_index(["parent"])
        if "tags" not in db.table_names():
            db["tags"].create(
                {"repository": str, "tag": str, "image_id": str, "digest": str},
                pk=("repository", "tag"),
                foreign_keys=[("image_id", "images", "id")])
            db["tags"].create_index(["image_id"])
        if "containers" not in db.table_names():
            db["containers"].create(
                {"id": str, "name": str, "image_id": str, "created": str, "record": str},
                pk="id",
                foreign_keys=[("image_id", "images", "id")])
            db["containers"].create_index(["name"], unique=True)
            db["containers"].create_index(["image_id"])
        if "links" not in db.table_names():
            # An edge of Docker's name graph: container `parent_id` sees `child_id` as `alias`.
            db["links"].create(
                {"parent_id": str, "child_id": str, "alias": str},
                pk=("parent_id", "alias"),
                foreign_keys=[("parent_id", "containers", "id"), ("child_id", "containers", "id")])
            db["links"].create_index(["child_id"])
        db.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so that a crash leaves all or none of them (nests safely)."""
        with self._lock, self.db.atomic():
            yield

    def _query(self, sql: str, params: Any = ()) -> list[tuple]:
        with self._lock:
            return self.db.conn.execute(sql, params).fetchall()

    # --- images ---------------------------------------------------------
    def add_image(self, image: ImageRecord) -> None:
        with self._lock:
            self.db["images"].insert({
                "id": image.id, "parent": image.parent or None, "created": image.created,
                "size": image.size, "record": json.dumps(to_api(image)),
            })

    def image(self, image_id: str) -> ImageRecord | None:
        rows = self._query("SELECT record FROM images WHERE id = ?", (image_id,))
        return from_api(ImageRecord, json.loads(rows[0][0])) if rows else None

    def image_rows(self) -> list[ImageRow]:
        return [ImageRow(i, p or "", c, s) for i, p, c, s in
                self._query("SELECT id, parent, created, size FROM images")]

    def image_ids_with_prefix(self, prefix: str) -> list[str]:
        return [r[0] for r in self._query(
            "SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "g"))]

    def children(self, image_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM images WHERE parent = ?", (image_id,))]

    def ancestry(self, image_id: str) -> list[ImageRow]:
        """The image and its parents, newest first (for `history`, virtual size)."""
        rows = self._query("""
            WITH RECURSIVE chain(id, parent, created, size, depth) AS (
                SELECT id, parent, created, size, 0 FROM images WHERE id = ?
                UNION ALL
                SELECT i.id, i.parent, i.created, i.size, chain.depth + 1
                FROM images i JOIN chain ON i.id = chain.parent)
            SELECT id, parent, created, size FROM chain ORDER BY depth""", (image_id,))
        return [ImageRow(i, p or "", c, s) for i, p, c, s in rows]

    def delete_image(self, image_id: str) -> None:
        with self._lock:
            self.db["images"].delete(image_id)

    # --- tags -----------------------------------------------------------
    def set_tag(self, repository: str, tag: str, image_id: str, digest: str = "") -> None:
        with self._lock:
            self.db["tags"].upsert(
                {"repository": repository, "tag": tag, "image_id": image_id, "digest": digest},
                pk=("repository", "tag"))

    def tag(self, repository: str, tag: str) -> TagRow | None:
        rows = self._query("SELECT repository, tag, image_id, digest FROM tags "
                           "WHERE repository = ? AND tag = ?", (repository, tag))
        return TagRow(*rows[0]) if rows else None

    def tags(self, image_id: str | None = None) -> list[TagRow]:
        if image_id is None:
            rows = self._query("SELECT repository, tag, image_id, digest FROM tags ORDER BY repository, tag")
        else:
            rows = self._query("SELECT repository, tag, image_id, digest FROM tags "
                               "WHERE image_id = ? ORDER BY repository, tag", (image_id,))
        return [TagRow(*r) for r in rows]

    def delete_tag(self, repository: str, tag: str) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.execute("DELETE FROM tags WHERE repository = ? AND tag = ?", (repository, tag))

    # --- containers -----------------------------------------------------
    def save_container(self, container_id: str, name: str, image_id: str, created: str,
                       record: dict) -> None:
        with self._lock:
            self.db["containers"].upsert(
                {"id": container_id, "name": name, "image_id": image_id, "created": created,
                 "record": json.dumps(record)}, pk="id")

    def container_records(self) -> list[dict]:
        return [json.loads(r[0]) for r in self._query("SELECT record FROM containers ORDER BY created")]

    def containers_using_image(self, image_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM containers WHERE image_id = ?", (image_id,))]

    def name_taken(self, name: str) -> str | None:
        rows = self._query("SELECT id FROM containers WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def delete_container(self, container_id: str) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.execute("DELETE FROM links WHERE parent_id = ? OR child_id = ?",
                                 (container_id, container_id))
            self.db["containers"].delete(container_id)

    # --- links (the name graph's edges) ---------------------------------
    def add_link(self, parent_id: str, child_id: str, alias: str) -> None:
        with self._lock:
            self.db["links"].insert({"parent_id": parent_id, "child_id": child_id, "alias": alias})

    def links_of(self, parent_id: str) -> list[tuple[str, str]]:
        """(child_id, alias) pairs that `parent_id` links to."""
        return [(c, a) for c, a in self._query(
            "SELECT child_id, alias FROM links WHERE parent_id = ?", (parent_id,))]

    def linked_by(self, child_id: str) -> list[tuple[str, str]]:
        return [(p, a) for p, a in self._query(
            "SELECT parent_id, alias FROM links WHERE child_id = ?", (child_id,))]

    def remove_link(self, parent_id: str, alias: str) -> None:
        with self._lock, self.db.atomic():
            self.db.conn.execute("DELETE FROM links WHERE parent_id = ? AND alias = ?", (parent_id, alias))
