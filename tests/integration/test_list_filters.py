"""Filters (both wire forms) on the container and image lists, image shapes per
version, and prune, against a real pyctrd: the raw API, the docker CLI (at 1.41)
and docker-py 7."""

from __future__ import annotations

import json
import os

import pytest

from harness import container_names, wait_for
from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def out(result) -> str:
    return result.stdout.decode()


def listed(daemon, filters, version: str = "1.41", **params) -> set[str]:
    text = filters if isinstance(filters, str) else json.dumps(filters)
    return container_names(daemon.client(version).json("GET", "/containers/json", {"all": 1, "filters": text, **params}))


@pytest.fixture(scope="module")
def fleet(daemon):
    """exited 0 (label tier=web), exited 3 (tier=db), running (tier=web, -p, --expose), created."""
    d = daemon.docker
    d("run", "--name", "f-ok", "--label", "tier=web", "--label", "keep", "busybox", "true")
    d("run", "--name", "f-bad", "--label", "tier=db", "busybox", "sh", "-c", "exit 3", check=False)
    d("run", "-d", "--name", "f-up", "--label", "tier=web", "-p", "127.0.0.1::80", "--expose", "90",
      "-v", "/scratch", "busybox", "sleep", "1000")
    d("create", "--name", "f-new", "busybox", "true")
    ids = {name: daemon.client().inspect_container(name)["Id"] for name in ("f-ok", "f-bad", "f-up", "f-new")}
    yield ids
    d("rm", "-f", *ids.values(), check=False)


@pytest.mark.parametrize("form", ["list", "map"])
def test_container_filters_in_both_forms(daemon, fleet, form):
    def f(name: str, *values: str):
        return {name: list(values)} if form == "list" else {name: {v: True for v in values}}

    assert listed(daemon, f("label", "tier=web")) == {"f-ok", "f-up"}
    assert listed(daemon, f("label", "tier")) == {"f-ok", "f-bad", "f-up"}
    assert listed(daemon, f("label", "tier=web", "keep")) == {"f-ok"}
    assert listed(daemon, f("name", "f-o")) == {"f-ok"}
    assert listed(daemon, f("name", "^f-(ok|bad)$")) == {"f-ok", "f-bad"}
    assert listed(daemon, f("id", fleet["f-up"][:10])) == {"f-up"}
    assert listed(daemon, f("status", "exited")) == {"f-ok", "f-bad"}
    assert listed(daemon, f("status", "created", "running")) == {"f-new", "f-up"}
    assert listed(daemon, f("exited", "3")) == {"f-bad"}
    assert listed(daemon, f("exited", "0")) == {"f-ok"}
    assert listed(daemon, f("ancestor", "busybox")) >= {"f-ok", "f-bad", "f-up", "f-new"}
    assert listed(daemon, f("ancestor", "no-such-image")) == set()
    assert listed(daemon, f("before", "f-up")) >= {"f-ok", "f-bad"}
    assert "f-new" not in listed(daemon, f("before", "f-up"))
    assert listed(daemon, f("since", "f-bad")) == {"f-up", "f-new"}
    assert listed(daemon, f("volume", "/scratch")) == {"f-up"}
    assert listed(daemon, f("publish", "80")) == {"f-up"}
    assert listed(daemon, f("publish", "80-81/tcp")) == {"f-up"}
    assert listed(daemon, f("publish", "80/udp")) == set()
    assert listed(daemon, f("expose", "90")) == {"f-up"} or listed(daemon, f("expose", "80")) == {"f-up"}
    assert listed(daemon, f("network", "bridge")) >= {"f-up"}
    assert listed(daemon, f("health", "none")) >= {"f-ok", "f-up"}
    assert listed(daemon, f("health", "healthy")) == set()
    assert listed(daemon, f("is-task", "true")) == set()
    assert listed(daemon, f("is-task", "false")) >= {"f-ok", "f-up"}
    # several names: all must hold
    assert listed(daemon, {**f("label", "tier=web"), **f("status", "running")}) == {"f-up"}


def test_status_filter_lists_stopped_containers_without_all(daemon, fleet):
    """dockerd: a status filter implies all (CLI 28's `ps --filter status=exited`)."""
    text = json.dumps({"status": {"exited": True}})
    assert container_names(daemon.client().json("GET", "/containers/json", {"filters": text})) == {"f-ok", "f-bad"}
    assert set(out(daemon.docker("ps", "--filter", "status=exited", "--format", "{{.Names}}")).split()) \
        == {"f-ok", "f-bad"}
    # exited alone does not (dockerd 20.10 does the same)
    assert out(daemon.docker("ps", "--filter", "exited=0", "--format", "{{.Names}}")).split() == []
    assert out(daemon.docker("ps", "-a", "--filter", "exited=0", "--format", "{{.Names}}")).split() == ["f-ok"]


def test_docker_cli_filters(daemon, fleet):
    ps = lambda *args: set(out(daemon.docker("ps", "-a", "--format", "{{.Names}}", *args)).split())  # noqa: E731
    assert ps("--filter", "label=tier=web") == {"f-ok", "f-up"}
    assert ps("--filter", "name=f-up") == {"f-up"}
    assert ps("--filter", f"id={fleet['f-bad']}") == {"f-bad"}
    assert ps("--filter", "status=exited", "--filter", "label=tier=db") == {"f-bad"}
    assert ps("--filter", "ancestor=busybox:latest", "--filter", "status=created") == {"f-new"}


def test_docker_py_filters(daemon, fleet):
    docker = pytest.importorskip("docker")
    for version in ("auto", "1.41", "1.24"):
        client = docker.DockerClient(base_url=daemon.host, version=version)
        try:
            got = lambda **f: {c.name for c in client.containers.list(all=True, filters=f)}  # noqa: E731
            assert got(label="tier=web") == {"f-ok", "f-up"}
            assert got(label=["tier=web", "keep"]) == {"f-ok"}
            assert got(name="f-bad") == {"f-bad"}
            assert got(id=fleet["f-up"]) == {"f-up"}
            assert got(ancestor="busybox") >= {"f-ok", "f-up"}
            assert got(status="exited", exited=3) == {"f-bad"}
            up = client.containers.get("f-up")
            assert up.image.tags == ["busybox:latest"]   # Container.image reads ImageID (sha256:)
        finally:
            client.close()


@pytest.mark.parametrize("text, message", [
    ('{"bogus": ["x"]}', "Invalid filter 'bogus'"),
    ('{"status": ["bogus"]}', "Invalid filter 'status=bogus'"),
    ('{"health": ["bogus"]}', "Unrecognised filter value for health: bogus"),
    ('{"is-task": ["maybe"]}', "Invalid filter 'is-task=[maybe]'"),
    ('{"exited": ["x"]}', "Invalid filter 'exited=x'"),
    ('{"publish": ["abc"]}', "error while looking up for publish abc"),
    ('{"label": "a"}', "json: cannot unmarshal string into Go value of type map[string]bool"),
    ('{"label": ["a"], "name": {"x": true}}', "json: cannot unmarshal array into Go value of type map[string]bool"),
    ('[1]', "json: cannot unmarshal array into Go value of type map[string]map[string]bool"),
    ('{"exited": [1]}', "json: cannot unmarshal array into Go value of type map[string]bool"),
    ("notjson", "invalid filters"),
])
def test_bad_container_filters_are_400s(daemon, fleet, text, message):
    with pytest.raises(APIError) as err:
        daemon.client().json("GET", "/containers/json", {"all": 1, "filters": text})
    assert err.value.status == 400 and message in err.value.message


def test_missing_before_container_is_404(daemon, fleet):
    with pytest.raises(APIError) as err:
        listed(daemon, {"before": ["no-such-container"]})
    assert err.value.status == 404


def test_cli_reports_bad_filters(daemon):
    result = daemon.docker("ps", "--filter", "bogus=1", check=False)
    assert result.returncode != 0 and b"Invalid filter 'bogus'" in result.stderr
    result = daemon.docker("images", "--filter", "dangling=maybe", check=False)
    assert result.returncode != 0 and b"Invalid filter 'dangling=[maybe]'" in result.stderr


# --- images ------------------------------------------------------------------

@pytest.fixture(scope="module")
def images(daemon):
    """busybox; a child that only sets a label (an empty top layer), tagged labelled:1;
    an untagged child of that (dangling); a second tag of busybox."""
    c = daemon.client()
    made = c.json("POST", "/containers/create", body={"Image": "busybox", "Cmd": ["true"]})["Id"]
    labelled = c.json("POST", "/commit", {"container": made, "repo": "labelled", "tag": "1"},
                      body={"Labels": {"tier": "web"}, "Cmd": ["sh"]})["Id"]
    child = c.json("POST", "/containers/create", body={"Image": "labelled:1", "Cmd": ["true"]})["Id"]
    dangling = c.json("POST", "/commit", {"container": child}, body={"Labels": {"tier": "db"}})["Id"]
    daemon.docker("tag", "busybox", "second:1")
    yield {"labelled": labelled.removeprefix("sha256:"), "dangling": dangling.removeprefix("sha256:"),
           "busybox": c.inspect_image("busybox")["Id"].removeprefix("sha256:")}
    c.remove_container(made, force=True)
    c.remove_container(child, force=True)
    daemon.docker("rmi", "second:1", "labelled:1", check=False)
    daemon.docker("rmi", dangling, check=False)


def image_ids(daemon, filters=None, version="1.41", **params) -> set[str]:
    query = {"filters": json.dumps(filters)} if filters else {}
    return {i["Id"].removeprefix("sha256:") for i in daemon.client(version).json("GET", "/images/json", {**query, **params})}


@pytest.mark.parametrize("form", ["list", "map"])
def test_image_filters_in_both_forms(daemon, images, form):
    def f(name: str, *values: str):
        return {name: list(values)} if form == "list" else {name: {v: True for v in values}}

    assert image_ids(daemon, f("dangling", "true")) == {images["dangling"]}
    assert images["dangling"] not in image_ids(daemon, f("dangling", "false"))
    assert image_ids(daemon, f("label", "tier=web")) == {images["labelled"]}
    assert image_ids(daemon, f("label", "tier")) == {images["labelled"], images["dangling"]}
    assert image_ids(daemon, f("reference", "labelled")) == {images["labelled"]}
    assert image_ids(daemon, f("reference", "sec*:*")) == {images["busybox"]}
    assert image_ids(daemon, f("before", "labelled:1")) == {images["busybox"]}
    assert images["dangling"] in image_ids(daemon, f("since", "busybox"))
    assert images["busybox"] not in image_ids(daemon, f("since", "busybox"))
    # reference: only the matching tags are listed
    only = daemon.client("1.41").json("GET", "/images/json", {"filters": json.dumps(f("reference", "second"))})
    assert only[0]["RepoTags"] == ["second:1"]


@pytest.mark.parametrize("text, status, message", [
    ('{"dangling": ["maybe"]}', 400, "Invalid filter 'dangling=[maybe]'"),
    ('{"dangling": ["true", "false"]}', 400, "Invalid filter 'dangling=[true false]'"),
    ('{"status": ["exited"]}', 400, "Invalid filter 'status'"),
    ('{"reference": ["[bad"]}', 400, "syntax error in pattern"),
    ('{"before": ["no-such-image"]}', 404, "No such image"),
    ('{"label": {"a": 1}}', 400, "json: cannot unmarshal number into Go value of type bool"),
])
def test_bad_image_filters(daemon, images, text, status, message):
    with pytest.raises(APIError) as err:
        daemon.client().json("GET", "/images/json", {"filters": text})
    assert err.value.status == status and message in err.value.message


def test_image_shapes_follow_the_version(daemon, images):
    new = {i["Id"]: i for i in daemon.client("1.41").json("GET", "/images/json", {"all": 1})}
    old = {i["Id"]: i for i in daemon.client("1.14").json("GET", "/images/json", {"all": 1})}
    labelled, dangling = new["sha256:" + images["labelled"]], new["sha256:" + images["dangling"]]
    assert labelled["ParentId"] == "sha256:" + images["busybox"]
    # Size is the whole image at 1.41, even when the top layer only sets metadata
    assert labelled["Size"] == labelled["VirtualSize"] > 0
    assert labelled["SharedSize"] >= new["sha256:" + images["busybox"]]["Size"]
    assert labelled["Containers"] >= 1 and labelled["Labels"] == {"tier": "web"}
    assert dangling["RepoTags"] == [] and dangling["RepoDigests"] == []
    # v1.14: bare ids, the layer's own size, <none>:<none>
    old_labelled = old[images["labelled"]]
    assert old_labelled["ParentId"] == images["busybox"] and old_labelled["Size"] < old_labelled["VirtualSize"]
    assert old[images["dangling"]]["RepoTags"] == ["<none>:<none>"]
    assert "Containers" not in old_labelled and "SharedSize" not in old_labelled
    inspected = daemon.client("1.41").json("GET", "/images/labelled:1/json")
    assert inspected["Id"] == "sha256:" + images["labelled"] and inspected["Parent"] == "sha256:" + images["busybox"]
    assert inspected["Size"] == inspected["VirtualSize"]
    assert daemon.client("1.14").json("GET", "/images/labelled:1/json")["Id"] == images["labelled"]
    # ids are accepted with and without sha256:
    assert daemon.client("1.41").json("GET", f"/images/sha256:{images['labelled']}/json")["Id"] == inspected["Id"]
    history = daemon.client("1.41").json("GET", "/images/labelled:1/history")
    assert history[0]["Id"] == "sha256:" + images["labelled"]


def test_docker_cli_images(daemon, images):
    listing = out(daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"))
    rows = dict(line.split(" ", 1) for line in listing.splitlines())
    assert not rows["labelled:1"].endswith(" 0B")   # the whole image's size
    assert images["dangling"][:12] in out(daemon.docker("images", "-a", "-q"))
    assert out(daemon.docker("images", "-q", "--filter", "dangling=true")).split() == [images["dangling"][:12]]
    assert out(daemon.docker("images", "-q", "--filter", "label=tier=web")).split() == [images["labelled"][:12]]


def test_tag_moves_from_1_22_and_needs_force_before(daemon, images):
    daemon.docker("tag", "busybox", "moving:1")
    daemon.docker("tag", "labelled:1", "moving:1")   # CLI 28 has no -f: the tag moves
    assert daemon.client().inspect_image("moving:1")["Id"].endswith(images["labelled"])
    with pytest.raises(APIError) as err:
        daemon.client("1.21").call("POST", "/images/busybox/tag", {"repo": "moving", "tag": "1"})
    assert err.value.status == 409
    daemon.client("1.21").call("POST", "/images/busybox/tag", {"repo": "moving", "tag": "1", "force": 1})
    assert daemon.client().inspect_image("moving:1")["Id"].endswith(images["busybox"])
    daemon.docker("rmi", "moving:1")
