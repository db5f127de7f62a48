"""The daemon's volumes through the local driver, on a real pyctrd: a volume that
--volumes-from shares is held by both containers, also after the daemon restarts,
and `rm -v` deletes it only once nobody holds it."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_a_shared_anonymous_volume_outlives_its_first_holder_across_a_daemon_restart(fresh_daemon):
    first = fresh_daemon()
    first.docker("run", "--name", "owner", "-v", "/shared", "busybox", "sh", "-c", "echo one > /shared/f")
    first.docker("run", "--name", "borrower", "--volumes-from", "owner", "busybox",
                 "sh", "-c", "echo two >> /shared/f")

    def source(name):
        return json.loads(first.docker("inspect", name).stdout)[0]["Mounts"][0]["Source"]

    volume = source("owner")
    assert source("borrower") == volume
    first.stop()
    second = fresh_daemon(first.workdir)   # knows who holds the volume from the records alone
    second.docker("rm", "-v", "owner")
    assert open(os.path.join(volume, "f")).read() == "one\ntwo\n"   # borrower still holds it
    second.docker("rm", "-v", "borrower")
    assert not os.path.exists(volume)


def test_a_record_from_before_mount_points_keeps_its_volume_data(fresh_daemon, tmp_path):
    """A data root of an earlier pyctr: the record names its volumes in Docker 1.2's
    `Volumes` only. They stay mounted where they are, and `rm -v` deletes none of them."""
    import sqlite3

    first = fresh_daemon()
    old_data = tmp_path / "old-volume"
    old_data.mkdir()
    (old_data / "f").write_text("old data\n")
    first.docker("create", "--name", "old", "busybox", "cat", "/data/f")
    first.stop()
    db = sqlite3.connect(os.path.join(first.root, "graph", "graph.db"))
    (raw,) = db.execute("SELECT record FROM containers WHERE name = ?", ("/old",)).fetchone() or \
        db.execute("SELECT record FROM containers").fetchone()
    record = json.loads(raw)
    record.pop("MountPoints", None)
    record["Volumes"], record["VolumesRW"] = {"/data": str(old_data)}, {"/data": True}
    db.execute("UPDATE containers SET record = ?", (json.dumps(record),))
    db.commit()
    db.close()
    second = fresh_daemon(first.workdir)
    second.docker("start", "old")
    assert second.docker("wait", "old").stdout == b"0\n"
    assert second.docker("logs", "old").stdout == b"old data\n"
    mounts = json.loads(second.docker("inspect", "old").stdout)[0]["Mounts"]
    assert [(m["Type"], m["Source"], m["Destination"]) for m in mounts] == [("bind", str(old_data), "/data")]
    second.docker("rm", "-v", "old")
    assert (old_data / "f").read_text() == "old data\n"
