"""The graph's crash-safety pieces without a daemon: a layer a dead daemon left without
its row is replaced by the next register, and a journal names what an operation made
until it ends."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile

import pytest

from pyctr.engine.graph.graph import Graph, Journal, current_journal
from pyctr.engine.graph.graphdb import GraphDB
from pyctr.engine.graph.image_record import ImageRecord
from pyctr.engine.graphdriver import LayerExists, VfsDriver


def _tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


@pytest.fixture
def graph(tmp_path):
    g = Graph(VfsDriver(str(tmp_path / "layers")), GraphDB(str(tmp_path / "graph.db")),
              str(tmp_path / "journal"))
    yield g
    g.db.close()


def test_register_replaces_a_layer_left_without_its_row(graph):
    graph.driver.create("a" * 64, None)   # a dead daemon's half-unpacked layer
    with open(os.path.join(graph.driver.get("a" * 64), "junk"), "w") as f:
        f.write("half")
    record = asyncio.run(graph.register(ImageRecord(id="a" * 64), _tar({"good": b"1"})))
    root = graph.driver.get(record.id)
    assert sorted(os.listdir(root)) == ["good"]
    assert graph.exists(record.id)
    # A layer with its row is a real image: registering it again is refused as before.
    with pytest.raises(LayerExists):
        asyncio.run(graph.register(ImageRecord(id="a" * 64), _tar({"x": b"2"})))


def test_a_journal_names_what_was_registered_until_the_operation_ends(graph):
    seen: list[list[tuple[str, str]]] = []

    async def operation() -> None:
        async with graph.journal("load") as journal:
            assert current_journal.get() is journal
            await graph.register(ImageRecord(id="b" * 64), _tar({"b": b"1"}))
            await graph.register(ImageRecord(id="c" * 64, parent="b" * 64), _tar({"c": b"2"}))
            seen.append(Journal.read(journal.path))
        assert current_journal.get() is None

    asyncio.run(operation())
    assert seen == [[("image", "b" * 64), ("image", "c" * 64)]]
    assert os.listdir(graph.journal_dir) == []
