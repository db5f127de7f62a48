"""POST /containers/prune and /images/prune (API 1.25) against a real pyctrd: the
reply shapes, the filters, bad input (400, nothing removed), and prunes racing
starts (nothing in use removed)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from harness import container_names

from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def out(result) -> str:
    return result.stdout.decode()


def image_ids(daemon, filters=None) -> set[str]:
    query = {"filters": json.dumps(filters)} if filters else {}
    return {i["Id"].removeprefix("sha256:") for i in daemon.client("1.41").json("GET", "/images/json", query)}


def test_container_prune(daemon):
    d = daemon.docker
    d("run", "--name", "p-web", "--label", "prune=web", "busybox", "true")
    d("run", "--name", "p-db", "--label", "prune=db", "busybox", "true")
    d("run", "-d", "--name", "p-up", "--label", "prune=web", "busybox", "sleep", "1000")
    ids = {n: daemon.client().inspect_container(n)["Id"] for n in ("p-web", "p-db", "p-up")}
    try:
        c = daemon.client("1.41")
        for bad, message in (('{"bogus": ["x"]}', "Invalid filter 'bogus'"),
                             ('{"until": ["xx"]}', 'failed to parse value as time or duration: "xx"'),
                             ('{"until": ["1h", "2h"]}', "more than one until filter specified")):
            with pytest.raises(APIError) as err:
                c.json("POST", "/containers/prune", {"filters": bad})
            assert err.value.status == 400 and message in err.value.message
        assert {"p-web", "p-db", "p-up"} <= container_names(c.json("GET", "/containers/json", {"all": 1}))  # nothing went
        nothing = c.json("POST", "/containers/prune", {"filters": json.dumps({"until": ["1h"]})})
        assert nothing == {"ContainersDeleted": None, "SpaceReclaimed": 0}
        report = c.json("POST", "/containers/prune", {"filters": json.dumps({"label": {"prune=web": True}})})
        assert report["ContainersDeleted"] == [ids["p-web"]] and report["SpaceReclaimed"] >= 0
        result = out(d("container", "prune", "-f", "--filter", "label!=prune=web"))
        assert ids["p-db"] in result and "Total reclaimed space" in result
        assert container_names(c.json("GET", "/containers/json", {"all": 1})) >= {"p-up"}
    finally:
        d("rm", "-f", *ids.values(), check=False)


def test_prune_while_containers_start_removes_nothing_in_use(daemon):
    """Containers started while prunes run: a prune takes a container only while it is
    stopped and no start holds it, so each one either ran (and stayed) or was pruned
    before its start (which then finds no container: 404)."""
    c = daemon.client()
    created = [c.json("POST", "/containers/create", {"name": f"race{i}"},
                      body={"Image": "busybox", "Cmd": ["sleep", "1000"]})["Id"] for i in range(8)]
    start_errors: dict[str, APIError] = {}
    other_errors: list[Exception] = []
    pruned: list[str] = []

    def start_all():
        for cid in created:
            try:
                daemon.client().call("POST", f"/containers/{cid}/start")
            except APIError as exc:
                start_errors[cid] = exc

    def prune_often():
        try:
            for _ in range(20):
                report = daemon.client("1.41").json("POST", "/containers/prune")
                pruned.extend(report["ContainersDeleted"] or [])
        except Exception as exc:  # noqa: BLE001 (reported below)
            other_errors.append(exc)

    starter, pruner = threading.Thread(target=start_all), threading.Thread(target=prune_often)
    try:
        starter.start()
        pruner.start()
        starter.join(120)
        pruner.join(120)
        assert not other_errors
        for cid in created:
            if cid in pruned:
                assert start_errors[cid].status == 404, start_errors.get(cid)
            else:
                assert cid not in start_errors, start_errors[cid]
                assert c.inspect_container(cid)["State"]["Running"], cid
        running = {x["Id"] for x in c.json("GET", "/containers/json")}
        assert daemon.client("1.41").json("POST", "/containers/prune")["ContainersDeleted"] is None
        assert running == {x["Id"] for x in c.json("GET", "/containers/json")}
    finally:
        for cid in created:
            try:
                c.remove_container(cid, force=True)
            except APIError:
                pass


def test_image_prune(daemon):
    c = daemon.client()
    made = c.json("POST", "/containers/create", body={"Image": "busybox", "Cmd": ["true"]})["Id"]
    loose = c.json("POST", "/commit", {"container": made}, body={"Labels": {"p": "1"}})["Id"].removeprefix("sha256:")
    kept = c.json("POST", "/commit", {"container": made}, body={"Labels": {"p": "2"}})["Id"].removeprefix("sha256:")
    user = c.json("POST", "/containers/create", body={"Image": kept, "Cmd": ["true"]})["Id"]
    tagged = c.json("POST", "/commit", {"container": made, "repo": "prune-me", "tag": "1"},
                    body={"Labels": {"p": "3"}})["Id"].removeprefix("sha256:")
    try:
        v141 = daemon.client("1.41")
        with pytest.raises(APIError) as err:
            v141.json("POST", "/images/prune", {"filters": '{"dangling": ["maybe"]}'})
        assert err.value.status == 400 and "Invalid filter 'dangling=[maybe]'" in err.value.message
        assert v141.json("POST", "/images/prune", {"filters": json.dumps({"label": ["p=9"]})}) == \
            {"ImagesDeleted": None, "SpaceReclaimed": 0}
        report = v141.json("POST", "/images/prune")   # dangling only: `loose`, not the used `kept`
        assert report["ImagesDeleted"] == [{"Deleted": "sha256:" + loose}]
        assert v141.json("POST", "/images/prune")["ImagesDeleted"] is None
        assert report["SpaceReclaimed"] >= 0
        assert image_ids(daemon, {"dangling": ["true"]}) >= {kept}
        # -a: every image no container uses, tagged ones through their tags
        result = out(daemon.docker("image", "prune", "-a", "-f", "--filter", "label=p=3"))
        assert "untagged: prune-me:1" in result and tagged in result
        assert kept in image_ids(daemon) and c.inspect_image("busybox")
    finally:
        c.remove_container(user, force=True)
        c.remove_container(made, force=True)
        daemon.docker("rmi", kept, check=False)
        daemon.docker("rmi", "prune-me:1", check=False)


def test_image_prune_until(daemon):
    v141 = daemon.client("1.41")
    # everything here is younger than a day: nothing is older than until=24h
    assert v141.json("POST", "/images/prune", {"filters": json.dumps({"until": ["24h"], "dangling": ["false"]})}) \
        == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    assert daemon.client().inspect_image("busybox")
