"""The graph DB on the standard library's sqlite3: transactions that nest and roll back
as a whole, upserts that keep the rows referencing a container, and a data root made by
an earlier pyctr (whose schema sqlite-utils wrote) opening unchanged."""

from __future__ import annotations

import sqlite3

import pytest

from pyctr.engine.graph.graphdb import GraphDB
from pyctr.engine.graph.image_record import ImageRecord

# What sqlite-utils made for pyctr before (sqlite_master of such a data root).
EARLIER_SCHEMA = [
    'CREATE TABLE "images" (\n   "id" TEXT PRIMARY KEY,\n   "parent" TEXT,\n   "created" TEXT,\n'
    '   "size" INTEGER,\n   "record" TEXT\n)',
    'CREATE INDEX "idx_images_parent"\n    ON "images" ("parent")',
    'CREATE TABLE "tags" (\n   "repository" TEXT,\n   "tag" TEXT,\n   "image_id" TEXT REFERENCES '
    '"images"("id"),\n   "digest" TEXT,\n   PRIMARY KEY ("repository", "tag")\n)',
    'CREATE INDEX "idx_tags_image_id"\n    ON "tags" ("image_id")',
    'CREATE TABLE "layers" (\n   "image_id" TEXT PRIMARY KEY REFERENCES "images"("id"),\n'
    '   "chain_id" TEXT,\n   "diff_id" TEXT,\n   "blob_digest" TEXT,\n   "blob_size" INTEGER,\n   "config" TEXT\n)',
    'CREATE INDEX "idx_layers_chain_id"\n    ON "layers" ("chain_id")',
    'CREATE TABLE "containers" (\n   "id" TEXT PRIMARY KEY,\n   "name" TEXT,\n   "image_id" TEXT '
    'REFERENCES "images"("id"),\n   "created" TEXT,\n   "record" TEXT\n)',
    'CREATE UNIQUE INDEX "idx_containers_name"\n    ON "containers" ("name")',
    'CREATE INDEX "idx_containers_image_id"\n    ON "containers" ("image_id")',
    'CREATE TABLE "links" (\n   "parent_id" TEXT REFERENCES "containers"("id"),\n   "child_id" TEXT '
    'REFERENCES "containers"("id"),\n   "alias" TEXT,\n   PRIMARY KEY ("parent_id", "alias")\n)',
    'CREATE INDEX "idx_links_child_id"\n    ON "links" ("child_id")',
]


def image(image_id: str) -> ImageRecord:
    return ImageRecord(id=image_id, created="2026-01-01T00:00:00Z")


def two_linked(db: GraphDB) -> None:
    db.add_image(image("i1"))
    db.save_container("c1", "/web", "i1", "1", {"Id": "c1"})
    db.save_container("c2", "/db", "i1", "2", {"Id": "c2"})
    db.add_link("c1", "c2", "db")


def test_upsert_updates_in_place_and_keeps_links(tmp_path):
    db = GraphDB(str(tmp_path / "graph.db"))
    two_linked(db)
    db.save_container("c2", "/db", "i1", "2", {"Id": "c2", "State": "running"})   # referenced by a link
    assert db.container_records()[1] == {"Id": "c2", "State": "running"}
    assert db.all_links() == [("c1", "c2", "db")]
    db.close()


def test_writes_outside_a_transaction_are_committed(tmp_path):
    path = str(tmp_path / "graph.db")
    db = GraphDB(path)
    two_linked(db)
    other = sqlite3.connect(path)   # another connection sees every write at once
    assert other.execute("SELECT count(*) FROM containers").fetchone() == (2,)
    other.close()
    db.close()


def test_nested_transactions_roll_back_as_a_whole(tmp_path):
    db = GraphDB(str(tmp_path / "graph.db"))
    db.add_image(image("i1"))
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.save_container("c1", "/web", "i1", "1", {"Id": "c1"})
            with db.transaction():
                db.save_container("c2", "/db", "i1", "2", {"Id": "c2"})
            raise RuntimeError("crash before the commit point")
    assert db.container_records() == []
    with pytest.raises(sqlite3.IntegrityError):   # the inner part fails alone; the outer keeps its row
        with db.transaction():
            db.save_container("c1", "/web", "i1", "1", {"Id": "c1"})
            try:
                with db.transaction():
                    db.save_container("c3", "/web", "i1", "3", {"Id": "c3"})   # name taken
            finally:
                assert db.container_exists("c1") and not db.container_exists("c3")
    assert db.container_records() == []
    db.close()


def test_a_data_root_of_an_earlier_pyctr_opens(tmp_path):
    path = str(tmp_path / "graph.db")
    old = sqlite3.connect(path)
    for statement in EARLIER_SCHEMA:
        old.execute(statement)
    old.execute("INSERT INTO images VALUES ('i1', NULL, '1', 0, ?)", ('{"id": "i1"}',))
    old.execute("INSERT INTO containers VALUES ('c1', '/web', 'i1', '1', '{\"Id\": \"c1\"}')")
    old.commit()
    old.close()
    db = GraphDB(path)
    assert db.container_records() == [{"Id": "c1"}]
    db.save_container("c1", "/web2", "i1", "1", {"Id": "c1", "Name": "/web2"})
    assert db.name_taken("/web2") == "c1"
    links = db._query("SELECT sql FROM sqlite_master WHERE name = 'links'")[0][0]
    assert links == EARLIER_SCHEMA[9]   # its own schema, untouched
    db.close()
