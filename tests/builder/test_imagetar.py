"""Reading image archives (save/load): both layouts, and every way an archive can be
unusable, found before anything is stored."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

import pytest

from pyctr.engine.daemon.imagetar import LoadError, plan_load, record_from_v1, v1_json

A, B, C = "a" * 64, "b" * 64, "c" * 64


def empty_tar() -> bytes:
    buf = io.BytesIO()
    tarfile.open(fileobj=buf, mode="w").close()
    return buf.getvalue()


def legacy(root, layers: dict[str, str], repositories=None):
    for image_id, parent in layers.items():
        os.makedirs(root / image_id)
        data = {"id": image_id, "created": "2014-08-21T00:00:00Z",
                "container_config": {"Cmd": ["/bin/sh", "-c", f"step {image_id[0]}"]}}
        if parent:
            data["parent"] = parent
        (root / image_id / "json").write_text(json.dumps(data))
        (root / image_id / "layer.tar").write_bytes(empty_tar())
        (root / image_id / "VERSION").write_text("1.0")
    if repositories is not None:
        (root / "repositories").write_text(json.dumps(repositories))


def never(_):
    return False


def test_legacy_layout_in_parent_order(tmp_path):
    legacy(tmp_path, {C: B, A: "", B: A}, {"app": {"1": C}})
    plan = plan_load(str(tmp_path), never)
    assert [layer.record.id for layer in plan.layers] == [A, B, C]
    assert plan.tags == [("app", "1", C)]
    assert plan.layers[1].record.container_config.cmd == ["/bin/sh", "-c", "step b"]


def test_parent_may_already_be_stored(tmp_path):
    legacy(tmp_path, {B: A})
    assert [layer.record.id for layer in plan_load(str(tmp_path), lambda i: i == A).layers] == [B]
    with pytest.raises(LoadError, match="neither in the archive nor in the graph"):
        plan_load(str(tmp_path), never)


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / A / "layer.tar").unlink(), "layer.tar is missing"),
    (lambda r: (r / A / "json").write_text("{not json"), "invalid JSON"),
    (lambda r: (r / A / "json").write_text(json.dumps({"id": B})), "is not its directory's name"),
    (lambda r: (r / A / "json").write_text(json.dumps({"id": A, "parent": "../x"})), "invalid parent id"),
    (lambda r: (r / A / "json").write_text(json.dumps({"id": A, "config": {"Cmd": 5}})), "invalid"),
    (lambda r: (r / "repositories").write_text(json.dumps({"app": {"1": C}})), "does not hold"),
    (lambda r: (r / "repositories").write_text(json.dumps({"Bad Name": {"1": A}})), "Bad Name"),
])
def test_bad_legacy_archives(tmp_path, damage, message):
    legacy(tmp_path, {A: ""}, {"app": {"1": A}})
    damage(tmp_path)
    with pytest.raises(LoadError, match=message):
        plan_load(str(tmp_path), never)


def test_cycles_are_refused(tmp_path):
    legacy(tmp_path, {A: B, B: A})
    with pytest.raises(LoadError, match="its own ancestor"):
        plan_load(str(tmp_path), never)


def test_not_an_image_archive(tmp_path):
    (tmp_path / "hello.txt").write_text("hi")
    with pytest.raises(LoadError, match="not an image archive"):
        plan_load(str(tmp_path), never)


def manifest_archive(root, layer_bytes: list[bytes], repo_tags=("app:2",), diff_ids=None):
    os.makedirs(root / "blobs/sha256")
    names = []
    for data in layer_bytes:
        digest = hashlib.sha256(data).hexdigest()
        (root / "blobs/sha256" / digest).write_bytes(data)
        names.append(f"blobs/sha256/{digest}")
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids or [
                  "sha256:" + hashlib.sha256(d).hexdigest() for d in layer_bytes]},
              "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD rootfs"},
                          {"created_by": "ENV X=1", "empty_layer": True},
                          {"created": "2024-01-02T00:00:00Z", "created_by": "RUN make"}]}
    data = json.dumps(config).encode()
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs/sha256" / digest).write_bytes(data)
    (root / "manifest.json").write_text(json.dumps(
        [{"Config": f"blobs/sha256/{digest}", "RepoTags": list(repo_tags), "Layers": names}]))
    return digest


def test_manifest_layout(tmp_path):
    top = manifest_archive(tmp_path, [empty_tar(), empty_tar() + b"\0" * 512])
    plan = plan_load(str(tmp_path), never)
    first, second = plan.layers
    assert second.record.id == top and second.record.parent == first.record.id
    assert first.record.container_config.cmd == ["ADD rootfs"]
    assert second.record.container_config.cmd == ["RUN make"]  # empty_layer entries skipped
    assert second.record.config.cmd == ["sh"] and first.record.config is None
    assert plan.tags == [("app", "2", top)] and first.diff_id.startswith("sha256:")


def test_manifest_layers_must_match_diff_ids(tmp_path):
    manifest_archive(tmp_path, [empty_tar()], diff_ids=["sha256:" + "0" * 64, "sha256:" + "1" * 64])
    with pytest.raises(LoadError, match="do not match"):
        plan_load(str(tmp_path), never)


def test_manifest_paths_stay_inside(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        [{"Config": "../../etc/passwd", "Layers": ["x"]}]))
    with pytest.raises(LoadError, match="outside the archive"):
        plan_load(str(tmp_path), never)


def test_v1_json_round_trip():
    data = {"id": A, "parent": B, "created": "2014-01-01T00:00:00Z", "author": "me",
            "config": {"Cmd": ["sh"], "Env": ["A=1"]}, "container_config": {"Cmd": ["x"]}}
    record = record_from_v1(data, "t")
    again = v1_json(record)
    assert again["id"] == A and again["parent"] == B and again["config"]["Env"] == ["A=1"]
    assert record_from_v1(again, "t") == record
