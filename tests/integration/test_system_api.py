"""Today's system endpoints (issue 18): /_ping's headers, wait conditions, events with
dockerd's shape and filters, /system/df, and the swarm and plugin families answered as
a dockerd in no swarm. Checked over raw HTTP at the newest API version pyctrd speaks,
and with the real clients (docker CLI, docker-py) where their API version allows."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.parse

import pytest

from pyctr.engine.api.versions import CURRENT, MAX_VERSION

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

V = f"/v{MAX_VERSION}"
NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                 'to connect this node to swarm and try again.')


def needs(version: str):
    """Client calls that the client itself refuses below `version`."""
    return pytest.mark.skipif(MAX_VERSION < version, reason=f"the client needs API {version}+")


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def request(daemon, method: str, path: str, query: dict | None = None, timeout: float = 60):
    """(status, headers, body) of one request."""
    conn = UnixHTTP(daemon.socket, timeout)
    try:
        if query:
            path += "?" + urllib.parse.urlencode(query)
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def message(body: bytes) -> str:
    return json.loads(body)["message"]


def create(daemon, *cmd: str, labels: dict | None = None, name: str = "", image: str = "busybox") -> str:
    body = {"Image": image, "Cmd": list(cmd), "Labels": labels or {}}
    path = "/containers/create" + (f"?name={name}" if name else "")
    return daemon.client().json("POST", path, body=body)["Id"]


# --- /_ping ------------------------------------------------------------------------------

def test_ping_headers_get_and_head(daemon):
    for method in ("GET", "HEAD"):
        status, headers, body = request(daemon, method, "/_ping")
        assert status == 200 and body == (b"OK" if method == "GET" else b"")
        assert headers["API-Version"] == str(CURRENT)
        assert headers["OSType"] == "linux" and headers["Docker-Experimental"] == "false"
        assert headers["Builder-Version"] == "1"         # the classic builder
        assert headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
        assert headers["Pragma"] == "no-cache"


# --- wait --------------------------------------------------------------------------------

def _wait_in_thread(daemon, cid: str, condition: str) -> tuple[threading.Thread, list]:
    """A wait request whose registration is done once its 200 (sent first from 1.30) or,
    before 1.30, once the thread got going; the result lands in the list."""
    result: list = []
    conn = UnixHTTP(daemon.socket, 60)
    conn.request("POST", f"{V}/containers/{cid}/wait?condition={condition}")
    headers_first = not MAX_VERSION < "1.30"
    resp = conn.getresponse() if headers_first else None

    def finish() -> None:
        r = resp or conn.getresponse()
        result.append((r.status, json.loads(r.read())))
        conn.close()

    thread = threading.Thread(target=finish)
    thread.start()
    if not headers_first:
        time.sleep(0.5)   # an old client's wait has no signal that it registered
    return thread, result


def test_wait_conditions(daemon):
    c = daemon.client()
    cid = create(daemon, "sh", "-c", "exit 3")
    try:
        # not-running: a created container is not running, so at once, with its code
        status, _, body = request(daemon, "POST", f"{V}/containers/{cid}/wait", {"condition": "not-running"})
        assert status == 200 and json.loads(body)["StatusCode"] == 0
        if not MAX_VERSION < "1.30":
            assert json.loads(body)["Error"] is None
        # next-exit: waits for a start and its exit
        thread, result = _wait_in_thread(daemon, cid, "next-exit")
        assert not result
        c.call("POST", f"/containers/{cid}/start")
        thread.join(30)
        assert result == [(200, result[0][1])] and result[0][1]["StatusCode"] == 3
        # next-exit on a stopped container waits for the next run, not the last one
        thread, result = _wait_in_thread(daemon, cid, "next-exit")
        time.sleep(0.3)
        assert not result
        c.call("POST", f"/containers/{cid}/start")
        thread.join(30)
        assert result and result[0][1]["StatusCode"] == 3
        # removed: answers when the container is gone
        thread, result = _wait_in_thread(daemon, cid, "removed")
        time.sleep(0.3)
        assert not result
        c.remove_container(cid)
        thread.join(30)
        assert result and result[0][1]["StatusCode"] == 3
    finally:
        request(daemon, "DELETE", f"/containers/{cid}?force=1")   # 404 once removed: fine


def test_wait_refuses_unknown_conditions(daemon):
    cid = create(daemon, "true")
    try:
        status, _, body = request(daemon, "POST", f"{V}/containers/{cid}/wait", {"condition": "bogus"})
        assert status == 400 and message(body) == 'invalid condition: "bogus"'
        status, _, body = request(daemon, "POST", f"{V}/containers/nosuch/wait", {"condition": "removed"})
        assert status == 404
    finally:
        daemon.client().remove_container(cid, force=True)


def test_docker_wait_and_run_with_the_cli(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 7").stdout.decode().strip()
    try:
        assert daemon.docker("wait", cid).stdout.decode().strip() == "7"
    finally:
        daemon.docker("rm", "-f", cid, check=False)
    for _ in range(3):
        ran = daemon.docker("run", "--name", "noerr", "busybox", "sh", "-c", "echo out; exit 2", check=False)
        assert ran.returncode == 2 and ran.stdout == b"out\n"
        assert b"error getting events" not in ran.stderr and ran.stderr == b"", ran.stderr
        daemon.docker("rm", "noerr")


@needs("1.30")
def test_docker_py_wait_conditions(daemon):
    docker = pytest.importorskip("docker")
    api = docker.APIClient(base_url=daemon.host, version="auto")
    cid = api.create_container("busybox", ["sh", "-c", "exit 4"])["Id"]
    try:
        assert api.wait(cid, condition="not-running") == {"StatusCode": 0, "Error": None}
        result: list = []
        waiter = threading.Thread(target=lambda: result.append(api.wait(cid, condition="next-exit")))
        waiter.start()
        time.sleep(0.5)
        api.start(cid)
        waiter.join(30)
        assert result == [{"StatusCode": 4, "Error": None}]
        with pytest.raises(docker.errors.APIError) as err:
            api.wait(cid, condition="sometime")
        assert err.value.status_code == 400
    finally:
        api.remove_container(cid, force=True)


# --- events ------------------------------------------------------------------------------

def _events(daemon, since: int, filters: dict | None = None) -> tuple[int, list]:
    query = {"since": str(since), "until": str(int(time.time()) + 1)}
    if filters is not None:
        query["filters"] = json.dumps(filters)
    status, _, body = request(daemon, "GET", V + "/events", query)
    if status != 200:
        return status, [message(body)]
    return status, [json.loads(line) for line in body.splitlines() if line.strip()]


def test_event_shape_and_filters(daemon):
    since = int(time.time()) - 1
    web = create(daemon, "true", labels={"tier": "web", "team": "a"}, name="ev-web")
    db = create(daemon, "true", labels={"tier": "db"}, name="ev-db")
    c = daemon.client()
    try:
        for cid in (web, db):
            c.call("POST", f"/containers/{cid}/start")
            assert c.wait(cid) == 0
        status, events = _events(daemon, since, {"container": [web]})
        assert status == 200 and [e["Action"] for e in events] == ["create", "start", "die"]
        die = events[-1]
        assert die["status"] == "die" and die["id"] == web and die["from"] == "busybox"
        assert die["Type"] == "container" and die["scope"] == "local"
        assert die["Actor"]["ID"] == web
        assert die["Actor"]["Attributes"] == {"name": "ev-web", "image": "busybox", "exitCode": "0",
                                              "tier": "web", "team": "a"}
        assert die["time"] == die["timeNano"] // 1_000_000_000
        # the map form, several filters (AND), values (OR), names and id prefixes
        for filters in ({"label": {"tier=web": True}, "event": {"die": True}},
                        {"label": ["tier=web"], "event": ["die"]},
                        {"container": ["ev-web"], "event": ["die", "destroy"], "type": ["container"]},
                        {"container": [web[:10]], "event": ["die"], "image": ["busybox"]},
                        {"label": ["tier", "team=a"], "event": ["die"]}):
            status, events = _events(daemon, since, filters)
            assert status == 200 and [(e["id"], e["Action"]) for e in events] == [(web, "die")], filters
        status, events = _events(daemon, since, {"label": ["tier"], "event": ["start"]})
        assert [e["id"] for e in events] == [web, db]
        # Name filters match by prefix on any event's actor, as dockerd's do (a container named
        # zealous_x passes daemon=z): values no generated name or hex id can start with.
        for filters in ({"type": ["image"], "container": [web]}, {"network": ["no-such-network"]},
                        {"volume": ["no-such-volume"]}, {"daemon": ["no-such-daemon"]},
                        {"label": ["tier=cache"]}, {"scope": ["swarm"]}):
            assert _events(daemon, since, filters) == (200, []), filters
    finally:
        for cid in (web, db):
            c.remove_container(cid, force=True)


def test_bad_event_filters(daemon):
    since = int(time.time())
    for filters, words in ((["container"], "cannot unmarshal array"),
                           ({"bogus": ["x"]}, "Invalid filter 'bogus'"),
                           ({"container": "x"}, "cannot unmarshal string"),
                           ({"container": {"x": "yes"}}, "cannot unmarshal string"),
                           ({"container": ["x"], "event": {"die": True}}, "cannot unmarshal")):
        status, body = _events(daemon, since, filters)
        assert status == 400 and words in body[0], (filters, body)
    status, _, body = request(daemon, "GET", V + "/events", {"since": "1", "until": "2", "filters": "{nope"})
    assert status == 400 and "invalid filters" in message(body)
    status, _, body = request(daemon, "GET", V + "/events", {"since": "20", "until": "10"})
    assert status == 400 and message(body) == "`since` time (20) cannot be after `until` time (10)"


def test_docker_events_with_filters(daemon):
    since = str(int(time.time()) - 1)
    daemon.docker("run", "-l", "cli=yes", "--name", "ev-cli", "busybox", "true")
    try:
        until = str(int(time.time()) + 1)
        out = daemon.docker("events", "--since", since, "--until", until, "--filter", "label=cli=yes",
                            "--filter", "event=die", "--format", "{{json .}}").stdout.decode()
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 1 and lines[0]["Actor"]["Attributes"]["name"] == "ev-cli"
        assert lines[0]["Type"] == "container" and lines[0]["Action"] == "die"
        bad = daemon.docker("events", "--since", since, "--until", until, "--filter", "colour=red",
                            check=False)
        assert bad.returncode != 0 and b"Invalid filter 'colour'" in bad.stderr
    finally:
        daemon.docker("rm", "-f", "ev-cli", check=False)


def test_docker_py_events(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="auto")
    since = int(time.time()) - 1
    client.containers.run("busybox", "true", name="ev-py", labels={"py": "1"}, remove=False)
    try:
        events = list(client.events(since=since, until=int(time.time()) + 1, decode=True,
                                    filters={"label": "py=1", "event": "die"}))
        assert [(e["Actor"]["Attributes"]["name"], e["Action"], e["scope"]) for e in events] == \
            [("ev-py", "die", "local")]
    finally:
        client.containers.get("ev-py").remove(force=True)


# --- /system/df --------------------------------------------------------------------------

def test_system_df(daemon):
    cid = daemon.docker("run", "-d", "-v", "/vol", "busybox", "sh", "-c",
                        "echo hello > /vol/f; echo more > /f; sleep 100").stdout.decode().strip()
    try:
        daemon.docker("exec", cid, "true")
        status, _, body = request(daemon, "GET", V + "/system/df")
        assert status == 200
        df = json.loads(body)
        assert set(df) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
        assert df["BuildCache"] == [] and df["LayersSize"] > 0
        busybox = next(i for i in df["Images"] if "busybox:latest" in i["RepoTags"])
        assert busybox["Containers"] >= 1 and busybox["SharedSize"] == 0
        assert busybox["Size"] <= df["LayersSize"]
        mine = next(c for c in df["Containers"] if c["Id"] == cid)
        assert mine["SizeRw"] > 0 and mine["SizeRootFs"] >= mine["SizeRw"]
        volumes = [v for v in df["Volumes"] if v["UsageData"]["RefCount"] >= 1]
        assert any(v["UsageData"]["Size"] == len(b"hello\n") for v in volumes)
        assert all(v["Driver"] == "local" and v["Scope"] == "local" for v in df["Volumes"])
    finally:
        daemon.docker("rm", "-f", "-v", cid, check=False)
    status, _, body = request(daemon, "GET", V + "/system/df", {"type": "image"})
    assert status == 400 and "type" in message(body)


@needs("1.25")
def test_system_df_with_the_cli_and_docker_py(daemon):
    docker = pytest.importorskip("docker")
    out = daemon.docker("system", "df").stdout.decode()
    assert out.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"] and "Images" in out
    assert "busybox" in daemon.docker("system", "df", "-v").stdout.decode()
    df = docker.DockerClient(base_url=daemon.host, version="auto").df()
    assert any("busybox:latest" in i["RepoTags"] for i in df["Images"])


# --- swarm and plugins -------------------------------------------------------------------

def test_swarm_families_answer_as_dockerd_in_no_swarm(daemon):
    for method, path in (("GET", "/swarm"), ("POST", "/swarm/update"), ("GET", "/swarm/unlockkey"),
                         ("GET", "/nodes"), ("GET", "/nodes/x"), ("GET", "/services"),
                         ("POST", "/services/create"), ("GET", "/services/x/logs"), ("GET", "/tasks"),
                         ("GET", "/secrets"), ("DELETE", "/secrets/x"), ("GET", "/configs"),
                         ("POST", "/configs/create")):
        status, _, body = request(daemon, method, V + path)
        assert (status, message(body)) == (503, NOT_A_MANAGER), (method, path)
    status, _, body = request(daemon, "POST", V + "/swarm/leave")
    assert (status, message(body)) == (503, "This node is not part of a swarm")
    status, _, body = request(daemon, "POST", V + "/swarm/init")
    assert status == 503 and "swarm" in message(body)
    node_ls = daemon.docker("node", "ls", check=False)
    assert node_ls.returncode != 0 and NOT_A_MANAGER.encode() in node_ls.stderr
    leave = daemon.docker("swarm", "leave", check=False)
    assert leave.returncode != 0 and b"This node is not part of a swarm" in leave.stderr


def test_docker_py_swarm_errors(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="auto")
    for call in (client.nodes.list, client.services.list, lambda: client.api.inspect_swarm()):
        with pytest.raises(docker.errors.APIError) as err:
            call()
        assert err.value.status_code == 503 and "not a swarm manager" in str(err.value)


def test_plugins(daemon):
    status, _, body = request(daemon, "GET", V + "/plugins")
    assert (status, json.loads(body)) == (200, [])
    status, _, body = request(daemon, "GET", V + "/plugins", {"filters": json.dumps({"enabled": ["true"]})})
    assert (status, json.loads(body)) == (200, [])
    for filters, words in (({"colour": ["x"]}, "Invalid filter 'colour'"),
                           ({"enabled": ["maybe"]}, "Invalid filter 'enabled=maybe'")):
        status, _, body = request(daemon, "GET", V + "/plugins", {"filters": json.dumps(filters)})
        assert (status, message(body)) == (400, words)
    for method, path in (("GET", "/plugins/vieux/sshfs/json"), ("DELETE", "/plugins/x"),
                         ("POST", "/plugins/x/enable")):
        status, _, body = request(daemon, method, V + path)
        assert status == 404 and message(body).endswith("not found"), path


@needs("1.25")
def test_plugins_with_the_cli_and_docker_py(daemon):
    docker = pytest.importorskip("docker")
    assert docker.DockerClient(base_url=daemon.host, version="auto").plugins.list() == []
    out = daemon.docker("plugin", "ls").stdout.decode().splitlines()
    assert out[0].split() == ["ID", "NAME", "DESCRIPTION", "ENABLED"] and len(out) == 1
    missing = daemon.docker("plugin", "inspect", "nosuch", check=False)
    assert missing.returncode != 0 and b'plugin "nosuch" not found' in missing.stderr


# --- DELETE /images/(name): today's rules --------------------------------------------------

def _rmi(daemon, name: str, **query) -> tuple[int, object]:
    status, _, body = request(daemon, "DELETE", f"{V}/images/{name}", {k: "1" for k, v in query.items() if v})
    return status, json.loads(body) if body else None


def _commit(daemon, repo_tag: str, parent: str = "busybox") -> str:
    cid = create(daemon, "true", image=parent)
    try:
        repo, tag = repo_tag.split(":")
        return daemon.client().json("POST", f"/commit?container={cid}&repo={repo}&tag={tag}",
                                    body={"Labels": {"made": "here"}})["Id"]
    finally:
        daemon.client().remove_container(cid, force=True)


@needs("1.25")
def test_image_delete_today(daemon):
    c = daemon.client()
    image = _commit(daemon, "rmi/a:1")
    c.call("POST", f"/images/{image}/tag?repo=rmi/b&tag=1")
    # by id with two repositories: must be forced
    status, body = _rmi(daemon, image)
    assert status == 409 and body["message"] == (f"conflict: unable to delete {image.removeprefix('sha256:')[:12]} "
                                                 "(must be forced) - image is referenced in multiple repositories")
    # by name with another reference left: only the untag
    assert _rmi(daemon, "rmi/b:1") == (200, [{"Untagged": "rmi/b:1"}])
    # the last reference while a stopped container uses it: must force
    cid = c.json("POST", "/containers/create", body={"Image": "rmi/a:1", "Cmd": ["true"]})["Id"]
    try:
        status, body = _rmi(daemon, "rmi/a:1")
        assert status == 409 and body["message"].startswith('conflict: unable to remove repository reference '
                                                            '"rmi/a:1" (must force) - container ')
        status, body = _rmi(daemon, image)   # by id: the stopped container is a soft conflict
        assert status == 409 and "(must be forced) - image is being used by stopped container" in body["message"]
        c.call("POST", f"/containers/{cid}/start")
        c.wait(cid)
    finally:
        c.remove_container(cid, force=True)
    # untag and delete in one go; the untagged parent busybox is tagged, so it stays
    status, body = _rmi(daemon, "rmi/a:1")
    assert status == 200 and body[0] == {"Untagged": "rmi/a:1"} and len(body) == 2
    assert body[1]["Deleted"].removeprefix("sha256:") == image.removeprefix("sha256:")
    status, body = _rmi(daemon, "rmi/a:1")
    assert status == 404


@needs("1.25")
def test_image_delete_hard_conflicts(daemon):
    c = daemon.client()
    parent = _commit(daemon, "rmi/parent:1")
    child = _commit(daemon, "rmi/child:1", parent="rmi/parent:1")
    cid = c.json("POST", "/containers/create", body={"Image": "rmi/child:1", "Cmd": ["sleep", "100"]})["Id"]
    try:
        c.call("POST", f"/containers/{cid}/start")
        status, body = _rmi(daemon, child, force=True)
        assert status == 409 and "(cannot be forced) - image is being used by running container" in body["message"]
        rmi = daemon.docker("rmi", "-f", child, check=False)
        assert rmi.returncode != 0 and b"cannot be forced" in rmi.stderr
    finally:
        c.remove_container(cid, force=True)
    assert daemon.docker("rmi", "rmi/child:1").returncode == 0
    assert daemon.docker("rmi", "rmi/parent:1").returncode == 0
    assert _rmi(daemon, parent)[0] == 404


def test_old_clients_keep_docker_1_2_rmi(daemon):
    image = _commit(daemon, "rmi/old:1")
    daemon.client().call("POST", f"/images/{image}/tag?repo=rmi/old2&tag=1")
    status, _, body = request(daemon, "DELETE", f"/v1.14/images/{image}")
    assert status == 409 and "multiple repositories, use -f to force" in message(body)
    for name in ("rmi/old:1", "rmi/old2:1"):
        assert request(daemon, "DELETE", f"/v1.14/images/{name}")[0] == 200


# --- POST /build/prune ---------------------------------------------------------------------

def test_build_prune(daemon):
    status, _, body = request(daemon, "POST", V + "/build/prune", {"all": "1", "keep-storage": "0"})
    assert (status, json.loads(body)) == (200, {"CachesDeleted": [], "SpaceReclaimed": 0})
    images_before = daemon.client().json("GET", "/images/json?all=1")
    status, _, body = request(daemon, "POST", V + "/build/prune",
                              {"filters": json.dumps({"until": {"24h": True}})})
    assert status == 200 and daemon.client().json("GET", "/images/json?all=1") == images_before
    for query, words in (({"filters": json.dumps({"colour": ["x"]})}, "Invalid filter 'colour'"),
                         ({"keep-storage": "lots"}, "keep-storage"), ({"all": "maybe"}, "all")):
        status, _, body = request(daemon, "POST", V + "/build/prune", query)
        assert status == 400 and words in message(body), query


@needs("1.39")
def test_builder_prune_with_the_cli_and_docker_py(daemon):
    docker = pytest.importorskip("docker")
    pruned = daemon.docker("builder", "prune", "-f", check=False)
    assert pruned.returncode == 0 and b"Total reclaimed space: 0B" in pruned.stdout, pruned.stderr
    assert docker.APIClient(base_url=daemon.host, version="auto").prune_builds()["SpaceReclaimed"] == 0


# --- a third client: aiodocker -------------------------------------------------------------

def test_aiodocker_wait_events_and_swarm(daemon):
    aiodocker = pytest.importorskip("aiodocker")
    import asyncio

    async def main() -> None:
        async with aiodocker.Docker(url=daemon.host) as docker:
            since = int(time.time()) - 1
            container = await docker.containers.create(
                {"Image": "busybox", "Cmd": ["sh", "-c", "exit 6"], "Labels": {"aio": "yes"}})
            try:
                await container.start()
                assert (await container.wait())["StatusCode"] == 6
                subscriber = docker.events.subscribe()
                await docker.events.run(since=str(since), until=str(int(time.time()) + 1),
                                        filters=json.dumps({"label": {"aio=yes": True}, "event": {"die": True}}))
                event = await asyncio.wait_for(subscriber.get(), 10)
                assert event["Actor"]["ID"] == container.id and event["Actor"]["Attributes"]["exitCode"] == "6"
                assert event["scope"] == "local"
            finally:
                await container.delete(force=True)
            for call in (docker.nodes.list, docker.services.list, docker.swarm.inspect):
                with pytest.raises(aiodocker.exceptions.DockerError) as err:
                    await call()
                assert err.value.status == 503 and "not a swarm manager" in err.value.message

    asyncio.run(main())
