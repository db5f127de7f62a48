"""The graph DB: one SQLite file (the standard library's sqlite3) that is the single source
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


# The schema, as the sqlite-utils of earlier pyctr versions made it (same tables,
# columns, keys and index names), so that their data roots open unchanged.
SCHEMA = {
    "images": """CREATE TABLE "images" ("id" TEXT PRIMARY KEY, "parent" TEXT, "created" TEXT,
                 "size" INTEGER, "record" TEXT);
               CREATE INDEX "idx_images_parent" ON "images" ("parent")""",
    "tags": """CREATE TABLE "tags" ("repository" TEXT, "tag" TEXT,
               "image_id" TEXT REFERENCES "images"("id"), "digest" TEXT,
               PRIMARY KEY ("repository", "tag"));
             CREATE INDEX "idx_tags_image_id" ON "tags" ("image_id")""",
    "layers": """CREATE TABLE "layers" ("image_id" TEXT PRIMARY KEY REFERENCES "images"("id"),
                 "chain_id" TEXT, "diff_id" TEXT, "blob_digest" TEXT, "blob_size" INTEGER,
                 "config" TEXT);
               CREATE INDEX "idx_layers_chain_id" ON "layers" ("chain_id")""",
    "containers": """CREATE TABLE "containers" ("id" TEXT PRIMARY KEY, "name" TEXT,
                     "image_id" TEXT REFERENCES "images"("id"), "created" TEXT, "record" TEXT);
                   CREATE UNIQUE INDEX "idx_containers_name" ON "containers" ("name");
                   CREATE INDEX "idx_containers_image_id" ON "containers" ("image_id")""",
    # An edge of Docker's name graph: container `parent_id` sees `child_id` as `alias`.
    "links": """CREATE TABLE "links" ("parent_id" TEXT REFERENCES "containers"("id"),
                "child_id" TEXT REFERENCES "containers"("id"), "alias" TEXT,
                PRIMARY KEY ("parent_id", "alias"));
              CREATE INDEX "idx_links_child_id" ON "links" ("child_id")""",
}


class GraphDB:
    def __init__(self, path: str) -> None:
        # Autocommit: each write outside transaction() commits by itself; transaction()
        # opens BEGIN (or, nested, a SAVEPOINT) explicitly.
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn
        self._lock = threading.RLock()
        self._savepoints = 0
        self._create_schema()

    def close(self) -> None:
        self.conn.close()

    def _create_schema(self) -> None:
        existing = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        with self.transaction():
            for table, script in SCHEMA.items():
                if table not in existing:
                    for statement in script.split(";"):
                        self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so that a crash leaves all or none of them (nests safely)."""
        with self._lock:
            if not self.conn.in_transaction:
                self.conn.execute("BEGIN")
                try:
                    yield
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
                else:
                    try:
                        self.conn.execute("COMMIT")
                    except BaseException:
                        if self.conn.in_transaction:
                            self.conn.execute("ROLLBACK")
                        raise
                return
            self._savepoints += 1
            name = f"nested_{self._savepoints}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:   # an error may have ended the whole transaction
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {name}")

    def _query(self, sql: str, params: Any = ()) -> list[tuple]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Any = ()) -> None:
        with self._lock:
            self.conn.execute(sql, params)

    def _upsert(self, table: str, row: dict, pk: tuple[str, ...]) -> None:
        """Insert `row`, or update the row with its key in place (never delete and insert:
        rows that reference it stay valid)."""
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in row if c not in pk)
        keys = ", ".join(f'"{c}"' for c in pk)
        self._write(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) '
                    f"ON CONFLICT ({keys}) DO UPDATE SET {updates}", tuple(row.values()))

    # --- images ---------------------------------------------------------
    def add_image(self, image: ImageRecord) -> None:
        self._write('INSERT INTO "images" ("id", "parent", "created", "size", "record") '
                    "VALUES (?, ?, ?, ?, ?)", (image.id, image.parent or None, image.created,
                                               image.size, json.dumps(to_api(image))))

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
        with self.transaction():
            # references by digest and registry metadata go with the image
            self._write("DELETE FROM tags WHERE image_id = ? AND tag LIKE 'sha256:%'", (image_id,))
            self._write("DELETE FROM layers WHERE image_id = ?", (image_id,))
            self._write("DELETE FROM images WHERE id = ?", (image_id,))

    # --- registry metadata of layers ------------------------------------
    def set_layer(self, row: LayerRow) -> None:
        self._upsert("layers", dataclasses.asdict(row), ("image_id",))

    def layer(self, image_id: str) -> LayerRow | None:
        rows = self._query("SELECT image_id, chain_id, diff_id, blob_digest, blob_size, config "
                           "FROM layers WHERE image_id = ?", (image_id,))
        return LayerRow(*(v or "" if i != 4 else v or 0 for i, v in enumerate(rows[0]))) if rows else None

    def layers_with_chain(self, chain_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT image_id FROM layers WHERE chain_id = ?", (chain_id,))]

    # --- tags -----------------------------------------------------------
    def set_tag(self, repository: str, tag: str, image_id: str, digest: str = "") -> None:
        self._upsert("tags", {"repository": repository, "tag": tag, "image_id": image_id,
                              "digest": digest}, ("repository", "tag"))

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
        self._write("DELETE FROM tags WHERE repository = ? AND tag = ?", (repository, tag))

    # --- containers -----------------------------------------------------
    def save_container(self, container_id: str, name: str, image_id: str, created: str,
                       record: dict) -> None:
        self._upsert("containers", {"id": container_id, "name": name, "image_id": image_id,
                                    "created": created, "record": json.dumps(record)}, ("id",))

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
        with self.transaction():
            self._write("DELETE FROM links WHERE parent_id = ? OR child_id = ?", (container_id, container_id))
            self._write("DELETE FROM containers WHERE id = ?", (container_id,))

    # --- links (the name graph's edges) ---------------------------------
    def add_link(self, parent_id: str, child_id: str, alias: str) -> None:
        self._write('INSERT INTO "links" ("parent_id", "child_id", "alias") VALUES (?, ?, ?)',
                    (parent_id, child_id, alias))

    def links_of(self, parent_id: str) -> list[tuple[str, str]]:
        """(child_id, alias) pairs that `parent_id` links to."""
        return [(c, a) for c, a in self._query(
            "SELECT child_id, alias FROM links WHERE parent_id = ?", (parent_id,))]

    def linked_by(self, child_id: str) -> list[tuple[str, str]]:
        return [(p, a) for p, a in self._query(
            "SELECT parent_id, alias FROM links WHERE child_id = ?", (child_id,))]

    def remove_link(self, parent_id: str, alias: str) -> None:
        self._write("DELETE FROM links WHERE parent_id = ? AND alias = ?", (parent_id, alias))

    def all_links(self) -> list[tuple[str, str, str]]:
        """Every link edge: (parent_id, child_id, alias)."""
        return [(p, c, a) for p, c, a in self._query("SELECT parent_id, child_id, alias FROM links")]
