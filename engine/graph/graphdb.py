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
import dataclasses
import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import sqlite_utils

from ..api.codec import from_api, to_api
from .image_record import ImageRecord

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
    tag: str           # a tag, or (for a reference pulled by digest) the digest itself
    image_id: str
    digest: str        # the registry manifest digest this reference was pulled/pushed at

    @property
    def is_digest(self) -> bool:
        return self.tag.startswith("sha256:")


@dataclass(frozen=True)
class LayerRow:
    """What a registry knows a graph image's layer by (pull and push fill it)."""
    image_id: str
    chain_id: str      # sha256 of the layer stack up to here (Docker's chain id)
    diff_id: str       # sha256 of the uncompressed layer tar
    blob_digest: str   # sha256 of the compressed blob as a registry stores it
    blob_size: int
    config: str = ""   # for an image top: its raw config JSON, pushed back byte for byte


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
        if "layers" not in db.table_names():
            db["layers"].create(
                {"image_id": str, "chain_id": str, "diff_id": str, "blob_digest": str,
                 "blob_size": int, "config": str},
                pk="image_id", foreign_keys=[("image_id", "images", "id")])
            db["layers"].create_index(["chain_id"])
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
        with self._lock, self.db.atomic():
            # references by digest and registry metadata go with the image
            self.db.conn.execute("DELETE FROM tags WHERE image_id = ? AND tag LIKE 'sha256:%'",
                                 (image_id,))
            self.db.conn.execute("DELETE FROM layers WHERE image_id = ?", (image_id,))
            self.db["images"].delete(image_id)

    # --- registry metadata of layers ------------------------------------
    def set_layer(self, row: LayerRow) -> None:
        with self._lock:
            self.db["layers"].upsert(dataclasses.asdict(row), pk="image_id")

    def layer(self, image_id: str) -> LayerRow | None:
        rows = self._query("SELECT image_id, chain_id, diff_id, blob_digest, blob_size, config "
                           "FROM layers WHERE image_id = ?", (image_id,))
        return LayerRow(*(v or "" if i != 4 else v or 0 for i, v in enumerate(rows[0]))) if rows else None

    def layers_with_chain(self, chain_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT image_id FROM layers WHERE chain_id = ?", (chain_id,))]

    # --- tags -----------------------------------------------------------
    def set_tag(self, repository: str, tag: str, image_id: str, digest: str = "") -> None:
        with self._lock:
            self.db["tags"].upsert(
                {"repository": repository, "tag": tag, "image_id": image_id, "digest": digest},
                pk=("repository", "tag"))

    def by_digest(self, repository: str, digest: str) -> TagRow | None:
        """A reference `repository@digest` (from a tag pulled at that digest, or by digest)."""
        rows = self._query("SELECT repository, tag, image_id, digest FROM tags "
                           "WHERE repository = ? AND digest = ? ORDER BY tag LIKE 'sha256:%'",
                           (repository, digest))
        return TagRow(*rows[0]) if rows else None

    def references(self, image_id: str | None = None) -> list[TagRow]:
        """Tags and references by digest (tags() leaves the latter out)."""
        if image_id is None:
            rows = self._query("SELECT repository, tag, image_id, digest FROM tags ORDER BY repository, tag")
        else:
            rows = self._query("SELECT repository, tag, image_id, digest FROM tags "
                               "WHERE image_id = ? ORDER BY repository, tag", (image_id,))
        return [TagRow(*r) for r in rows]

    def tag(self, repository: str, tag: str) -> TagRow | None:
        rows = self._query("SELECT repository, tag, image_id, digest FROM tags "
                           "WHERE repository = ? AND tag = ?", (repository, tag))
        return TagRow(*rows[0]) if rows else None

    def tags(self, image_id: str | None = None) -> list[TagRow]:
        return [r for r in self.references(image_id) if not r.is_digest]

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

    def container_exists(self, container_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM containers WHERE id = ?", (container_id,)))

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

    def all_links(self) -> list[tuple[str, str, str]]:
        """Every link edge: (parent_id, child_id, alias)."""
        return [(p, c, a) for p, c, a in self._query("SELECT parent_id, child_id, alias FROM links")]
