"""Images through the API and the real docker CLI: import, list, tree, inspect,
history, tag, rmi, and the bad input around them."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile

import pytest

from harness import layer_tar, mounts_under
from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")




def import_bytes(daemon, data: bytes, repo: str = "", tag: str = "") -> str:
    with daemon.client().import_image("-", repo=repo, tag=tag, body=data) as resp:
        return json.loads(resp.read().splitlines()[0])["status"]


def image_ids(daemon) -> set[str]:
    return {i["Id"] for i in daemon.client().json("GET", "/images/json", {"all": 1})}


def layer_dirs(daemon) -> set[str]:
    home = os.path.join(daemon.root, "graph", "layers")
    return {d for d in os.listdir(home) if len(d) == 64} if os.path.isdir(home) else set()


def test_import_list_inspect_history(daemon):
    image_id = import_bytes(daemon, layer_tar({"hello.txt": b"hi\n"}), "test/hello", "v1")
    listed = {i["Id"]: i for i in daemon.client().json("GET", "/images/json")}
    assert listed[image_id]["RepoTags"] == ["test/hello:v1"]
    assert listed[image_id]["Size"] == 3
    details = daemon.client().json("GET", "/images/test/hello:v1/json")
    assert details["Id"] == image_id and details["Size"] == 3 and details["VirtualSize"] == 3
    history = daemon.client().json("GET", f"/images/{image_id[:12]}/history")
    assert [h["Id"] for h in history] == [image_id]
    assert history[0]["Tags"] == ["test/hello:v1"]


def test_import_gzip_and_versioned_paths(daemon):
    image_id = import_bytes(daemon, gzip.compress(layer_tar({"a": b"x" * 1000})), "test/gz")
    assert daemon.client().json("GET", "/images/test/gz/json")["Size"] == 1000
    with daemon.client().request("GET", "/images/json") as resp:  # /v1.14/ prefix
        assert resp.status == 200
    unversioned = daemon.client()
    unversioned.version = ""
    # unversioned: the newest shapes (ids as sha256:<hex> since 1.22)
    assert any(i["Id"] == "sha256:" + image_id for i in unversioned.json("GET", "/images/json"))


def test_ping_and_version_headers(daemon):
    with daemon.client().request("GET", "/_ping") as resp:
        assert resp.read() == b"OK"
        assert resp.headers.get("API-Version") == "1.41"
    version = daemon.client().json("GET", "/version")
    assert version["ApiVersion"] == "1.41"


def test_unsupported_versions_and_unknown_routes(daemon):
    newer = daemon.client()
    newer.version = "1.99"
    with pytest.raises(APIError) as err:
        newer.json("GET", "/images/json")
    assert err.value.status == 400 and "too new" in err.value.message
    older = daemon.client()
    older.version = "1.0"
    with pytest.raises(APIError) as err:
        older.json("GET", "/images/json")
    assert err.value.status == 400 and "too old" in err.value.message
    with pytest.raises(APIError) as err:
        daemon.client().json("GET", "/no/such/route")
    assert err.value.status == 404


def test_tag_and_rmi_rules(daemon):
    image_id = import_bytes(daemon, layer_tar({"f": b"1"}), "test/rmi", "a")
    c = daemon.client()
    c.tag(image_id, "test/rmi", "b")
    with pytest.raises(APIError) as err:  # tagged twice: by id needs -f
        c.remove_image(image_id)
    assert err.value.status == 409
    assert [d.untagged for d in c.remove_image("test/rmi:a")] == ["test/rmi:a"]
    assert image_id in image_ids(daemon)
    report = c.remove_image("test/rmi:b")
    assert report[0].untagged == "test/rmi:b" and report[-1].deleted == image_id
    assert image_id not in image_ids(daemon)
    assert image_id not in layer_dirs(daemon)


def test_tag_conflicts_and_bad_names(daemon):
    one = import_bytes(daemon, layer_tar({"f": b"1"}), "test/tags", "x")
    two = import_bytes(daemon, layer_tar({"f": b"2"}))
    c = daemon.client()
    with pytest.raises(APIError) as err:
        c.tag(two, "test/tags", "x")
    assert err.value.status == 409
    c.tag(two, "test/tags", "x", force=True)
    assert c.inspect_image("test/tags:x")["Id"] == two
    for repo, tag in (("UPPER", "x"), ("a b", "x"), ("test/tags", "bad tag!")):
        with pytest.raises(APIError) as err:
            c.tag(two, repo, tag)
        assert err.value.status == 400
    with pytest.raises(APIError) as err:
        c.tag("nosuchimage", "test/x", "1")
    assert err.value.status == 404 and "nosuchimage" in err.value.message
    c.remove_image(one)
    c.remove_image("test/tags:x")


def test_rmi_refuses_image_in_use(daemon):
    image_id = import_bytes(daemon, layer_tar({"bin/x": b""}), "test/used")
    c = daemon.client()
    created = c.json("POST", "/containers/create", body={"Image": "test/used", "Cmd": ["/bin/x"]})
    try:
        with pytest.raises(APIError) as err:
            c.remove_image(image_id)
        assert err.value.status == 409 and created["Id"][:12] in err.value.message
        assert image_id in image_ids(daemon)
    finally:
        c.remove_container(created["Id"])
    c.remove_image(image_id)


def test_bad_tarballs_leave_nothing(daemon):
    before_images, before_layers = image_ids(daemon), layer_dirs(daemon)
    good = layer_tar({"a": b"x" * 5000, "b": b"y" * 5000})
    escaping = io.BytesIO()
    with tarfile.open(fileobj=escaping, mode="w") as tar:
        info = tarfile.TarInfo("../../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"!"))
    for data in (good[:3000], escaping.getvalue(), b"this is not a tar at all" * 100):
        with pytest.raises(APIError) as err:
            import_bytes(daemon, data, "test/bad")
        assert err.value.status == 400, err.value
    assert image_ids(daemon) == before_images
    assert layer_dirs(daemon) == before_layers
    assert not os.path.exists(os.path.join(daemon.root, "escaped"))
    assert not os.path.exists(os.path.join(daemon.root, "graph", "escaped"))
    assert "test/bad" not in json.dumps(daemon.client().json("GET", "/images/json"))


def test_malformed_json_and_unknown_image(daemon):
    c = daemon.client()
    with pytest.raises(APIError) as err:
        c.request("POST", "/containers/create", body=b"{not json", headers={"Content-Type": "application/json"})
    assert err.value.status == 400 and "JSON" in err.value.message
    with pytest.raises(APIError) as err:
        c.json("GET", "/images/nosuch:tag/json")
    assert err.value.status == 404 and "nosuch:tag" in err.value.message


def test_images_tree_parents_from_graph_db(daemon):
    """Layers with parents (as pull and build make them) show as a tree; -a lists them."""
    c = daemon.client()
    rows = {i["Id"]: i for i in c.json("GET", "/images/json", {"all": 1})}
    busybox = c.inspect_image("busybox")["Id"]
    assert rows[busybox]["ParentId"] == ""


def test_docker_cli_image_commands(daemon, tmp_path):
    data = layer_tar({"etc/motd": b"welcome\n"})
    path = tmp_path / "layer.tar"
    path.write_bytes(data)
    out = daemon.docker("import", str(path), "cli/img:1").stdout.decode().strip()
    assert len(out.split(":")[-1]) == 64
    images = daemon.docker("images").stdout.decode()
    assert "cli/img" in images and "busybox" in images
    daemon.docker("tag", "cli/img:1", "cli/img:2")
    assert "Imported from" in daemon.docker("history", "cli/img:2").stdout.decode()
    inspected = json.loads(daemon.docker("inspect", "cli/img:1").stdout)
    assert inspected[0]["Size"] == len(b"welcome\n")
    daemon.docker("rmi", "cli/img:1")
    removed = daemon.docker("rmi", "cli/img:2").stdout.decode()
    assert "Deleted" in removed
    assert "Containers" in daemon.docker("info").stdout.decode()
    assert "API version:       1.41" in daemon.docker("version").stdout.decode()
    failed = daemon.docker("rmi", "cli/nosuch", check=False)
    assert failed.returncode != 0 and b"No such image" in failed.stderr
    assert not mounts_under(os.path.join(daemon.root, "graph"))


def test_jobs_are_traced(daemon):
    daemon.client().json("GET", "/images/json")
    traces = daemon.client().json("GET", "/pyctr/jobs")
    last = [t for t in traces if t["Name"] == "image_list"][-1]
    assert last["Status"] == "ok" and 0 <= last["Duration"] < 60 and last["Started"] > 0
    try:
        daemon.client().json("GET", "/images/nosuchimage/json")
    except Exception:
        pass
    failed = [t for t in daemon.client().json("GET", "/pyctr/jobs") if t["Name"] == "image_inspect"][-1]
    assert "nosuchimage" in failed["Status"]
