"""API versions: the accepted range, and each version's shapes (engine/server/shapes.py)."""

from __future__ import annotations

import calendar
import json
import os
import time

import pytest

from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def at(daemon, version: str):
    client = daemon.client()
    client.version = version
    return client


def test_range_of_versions(daemon):
    for version in ("1.12", "1.14", "1.20", "1.24", "1.25", "1.30", "1.40", "1.41"):
        assert at(daemon, version).json("GET", "/version")["Os"] == "linux"
    version = at(daemon, "").json("GET", "/version")   # unversioned: the newest shapes
    assert version["ApiVersion"] == "1.41" and version["MinAPIVersion"] == "1.12"
    with daemon.client().request("GET", "/_ping") as ping:
        assert ping.headers["API-Version"] == "1.41"
    for version, words in (("1.42", "client version 1.42 is too new. Maximum supported API version is 1.41"),
                           ("1.99", "too new"), ("1.5", "too old"),
                           ("1.11", "client version 1.11 is too old. Minimum supported API version is 1.12")):
        with pytest.raises(APIError) as err:
            at(daemon, version).json("GET", "/version")
        assert err.value.status == 400 and words in err.value.message


def test_clients_negotiate_1_41(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="auto")
    try:
        assert client.api.api_version == "1.41"
    finally:
        client.close()
    cli = daemon.docker("version", "--format", "{{.Server.APIVersion}} {{.Client.APIVersion}}")
    assert cli.stdout.decode().split()[0] == "1.41"
    assert "1.41" in daemon.docker("version").stdout.decode()


def test_inspect_and_ps_shapes_follow_the_version(daemon):
    cid = daemon.docker("run", "-d", "-v", "/scratch", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        old = at(daemon, "1.14").inspect_container(cid)
        new = at(daemon, "1.24").inspect_container(cid)
        assert "Status" not in old["State"] and "Mounts" not in old
        assert new["State"]["Status"] == "running"
        assert new["Mounts"][0]["Destination"] == "/scratch" and new["Mounts"][0]["RW"] is True
        assert "Networks" in new["NetworkSettings"]
        old_ps = at(daemon, "1.14").json("GET", "/containers/json")
        new_ps = at(daemon, "1.24").json("GET", "/containers/json")
        assert "State" not in old_ps[0] and new_ps[0]["State"] == "running"
        assert new_ps[0]["ImageID"] == new["Image"]
    finally:
        daemon.client().remove_container(cid, force=True)


def test_start_with_host_config_is_for_old_clients_only(daemon):
    c = daemon.client()
    cid = c.json("POST", "/containers/create", body={"Image": "busybox", "Cmd": ["true"]})["Id"]
    try:
        with pytest.raises(APIError) as err:
            at(daemon, "1.24").call("POST", f"/containers/{cid}/start", body={"Privileged": False})
        assert err.value.status == 400 and "HostConfig" in err.value.message
        at(daemon, "1.14").call("POST", f"/containers/{cid}/start", body={"Privileged": False})
        assert c.wait(cid) == 0
    finally:
        c.remove_container(cid, force=True)


@pytest.mark.parametrize("version", ["auto", "1.41", "1.24"])
def test_docker_py_workflow(daemon, tmp_path, version):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version=version)  # auto: negotiates 1.41
    assert client.containers.run("busybox", "echo hi", remove=True) == b"hi\n"
    assert client.containers.run("busybox", "sh -c 'echo err >&2; echo out'", remove=True,
                                 stderr=True) in (b"err\nout\n", b"out\nerr\n")
    assert any("busybox:latest" in image.tags for image in client.images.list())
    ct = client.containers.run("busybox", "sleep 100", detach=True, name="pyx", environment={"A": "1"},
                               volumes={str(tmp_path): {"bind": "/d", "mode": "ro"}}, mem_limit="64m",
                               cap_drop=["NET_RAW"], restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    try:
        assert ct.exec_run("sh -c 'echo $A'") == (0, b"1\n")
        assert ct.exec_run("sh -c 'exit 3'").exit_code == 3
        assert "sleep 100" in " ".join(" ".join(p) for p in ct.top()["Processes"])
        ct.pause()
        ct.reload()
        assert ct.status == "paused"
        ct.unpause()
        ct.reload()
        assert ct.status == "running" and ct.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
        assert ct.image.tags == ["busybox:latest"]   # reads Image as sha256:<hex>
        assert client.containers.list(filters={"name": "pyx"})[0].id == ct.id
        assert client.containers.list(filters={"id": ct.id[:12], "status": "running"})[0].id == ct.id
        assert [c.id for c in client.containers.list(filters={"label": "nothing=here"})] == []
        stats = ct.stats(stream=False)
        assert stats["id"] == ct.id and stats["name"] == "/pyx" and stats["pids_stats"]["current"] >= 1
        ct.stop(timeout=1)
        assert ct.wait()["StatusCode"] == 137
    finally:
        ct.remove(force=True)
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox", "sh -c 'exit 2'", remove=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.APIError):
        client.containers.run("busybox", "true", log_config={"Type": "syslog"})


def test_rename_and_unsupported_families(daemon):
    cid = daemon.docker("create", "--name", "before", "busybox", "true").stdout.decode().strip()
    try:
        daemon.docker("rename", "before", "after")
        assert daemon.client().inspect_container(cid)["Name"] == "/after"
        daemon.docker("create", "--name", "taken", "busybox", "true")
        clash = daemon.docker("rename", "after", "taken", check=False)
        assert clash.returncode != 0 and b"already in use" in clash.stderr
    finally:
        daemon.docker("rm", "-f", cid, "taken", check=False)
    for method, path in (("POST", "/session"), ("POST", "/grpc")):
        with pytest.raises(APIError) as err:
            at(daemon, "1.24").json(method, path)
        assert err.value.status == 501 and "not implemented" in err.value.message


def test_old_clients_keep_their_shapes(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        image = daemon.client().inspect_image("busybox")
        bare = image["Id"].removeprefix("sha256:")
        for version, expected in (("1.14", bare), ("1.21", bare), ("1.22", "sha256:" + bare),
                                  ("1.24", "sha256:" + bare), ("1.41", "sha256:" + bare)):
            c = at(daemon, version)
            assert c.json("GET", f"/containers/{cid}/json")["Image"] == expected, version
            assert c.json("GET", "/images/busybox/json")["Id"] == expected, version
            if not version < "1.21":   # ImageID came with 1.21
                listed = [x for x in c.json("GET", "/containers/json") if x["Id"] == cid][0]
                assert listed["ImageID"] == expected, version
        # ids are taken in both forms, for images and for containers' images
        made = daemon.client().json("POST", "/containers/create",
                                    body={"Image": "sha256:" + bare, "Cmd": ["true"]})["Id"]
        daemon.client().remove_container(made)
    finally:
        daemon.client().remove_container(cid, force=True)


def test_info_counts_and_fields(daemon):
    up = daemon.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    paused = daemon.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    done = daemon.docker("run", "-d", "busybox", "true").stdout.decode().strip()
    daemon.docker("pause", paused)
    daemon.docker("wait", done)
    try:
        info = daemon.client().json("GET", "/info")
        containers = daemon.client().json("GET", "/containers/json", {"all": 1})
        assert info["Containers"] == len(containers)
        assert info["ContainersRunning"] >= 1 and info["ContainersPaused"] >= 1 and info["ContainersStopped"] >= 1
        assert info["ContainersRunning"] + info["ContainersPaused"] + info["ContainersStopped"] == info["Containers"]
        assert info["Images"] >= 1 and info["Driver"] in ("overlay", "vfs") and isinstance(info["DriverStatus"], list)
        assert info["CgroupDriver"] == "cgroupfs" and info["CgroupVersion"] in ("1", "2")
        assert info["Swarm"]["LocalNodeState"] == "inactive" and isinstance(info["SecurityOptions"], list)
        assert info["DefaultRuntime"] in info["Runtimes"] and info["OSType"] == "linux"
        text = daemon.docker("info").stdout.decode()
        assert f"Running: {info['ContainersRunning']}" in text and f"Paused: {info['ContainersPaused']}" in text
        assert "Swarm: inactive" in text and f"Cgroup Version: {info['CgroupVersion']}" in text
    finally:
        daemon.docker("unpause", paused, check=False)
        daemon.docker("rm", "-f", up, paused, done, check=False)


def test_stats_name_the_container(daemon):
    cid = daemon.docker("run", "-d", "--name", "statme", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        row = daemon.docker("stats", "--no-stream", "--format", "{{.ID}} {{.Name}}", "statme").stdout.decode()
        assert row.split() == [cid[:12], "statme"]
        daemon.docker("stop", "-t", "0", "statme")
        stopped = at(daemon, "1.41").json("GET", "/containers/statme/stats", {"stream": 0})
        assert stopped["id"] == cid and stopped["name"] == "/statme"
        with pytest.raises(APIError) as err:   # before 1.25: not running is a 409
            at(daemon, "1.24").json("GET", "/containers/statme/stats", {"stream": 0})
        assert err.value.status == 409
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_logs_since_until_tail_details(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c",
                        "echo one; sleep 1.5; echo two; sleep 1.5; echo three").stdout.decode().strip()
    try:
        assert daemon.client().json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
        c = at(daemon, "1.41")

        def lines(**params) -> list[str]:
            with c.request("GET", f"/containers/{cid}/logs", {"stdout": 1, **params}) as resp:
                raw = resp.raw.read()
            text, pos = b"", 0
            while pos < len(raw):   # the multiplexed frames
                size = int.from_bytes(raw[pos + 4:pos + 8], "big")
                text += raw[pos + 8:pos + 8 + size]
                pos += 8 + size
            return text.decode().splitlines()

        assert lines(tail="") == ["one", "two", "three"]
        assert lines(tail="all") == lines(tail="-1") == ["one", "two", "three"]
        assert lines(tail="1") == ["three"] and lines(tail="0") == []
        stamped = lines(timestamps=1)
        times = [line.split(" ", 1)[0] for line in stamped]
        assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"]
        # "2026-01-02T03:04:05.123456789Z" -> "<unix seconds>.123456789", exactly
        unix = [f"{calendar.timegm(time.strptime(t[:19], '%Y-%m-%dT%H:%M:%S'))}.{t[20:29]}" for t in times]
        assert lines(since=unix[1]) == ["two", "three"]
        assert lines(until=unix[1]) == ["one", "two"]
        assert lines(since=unix[1], until=unix[1]) == ["two"]
        assert lines(details=1) == [" one", " two", " three"]
        assert daemon.docker("logs", "--tail", "1", cid).stdout.decode() == "three\n"
        assert daemon.docker("logs", "--since", "0", cid).stdout.decode() == "one\ntwo\nthree\n"
        for bad in ({"tail": "x"}, {"since": "yesterday"}, {"until": "1.2.3"}):
            with pytest.raises(APIError) as err:
                lines(**bad)
            assert err.value.status == 400
    finally:
        daemon.client().remove_container(cid, force=True)


def test_inspect_of_a_missing_name_is_no_such_object(daemon):
    result = daemon.docker("inspect", "no-such-thing", check=False)
    assert result.returncode == 1 and b"No such object: no-such-thing" in result.stderr
    for path, message in (("/networks/no-such-thing", "network no-such-thing not found"),
                          ("/volumes/no-such-thing", "get no-such-thing: no such volume"),
                          ("/plugins/no-such-thing/json", 'plugin "no-such-thing" not found')):
        with pytest.raises(APIError) as err:
            at(daemon, "1.41").json("GET", path)
        assert err.value.status == 404 and err.value.message == message
    assert at(daemon, "1.41").json("GET", "/networks/bridge")["Name"] == "bridge"


def test_auto_remove_and_wait_conditions(daemon):
    c = at(daemon, "1.41")
    result = daemon.docker("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo bye; exit 3", check=False)
    assert result.returncode == 3 and result.stdout == b"bye\n"
    assert "gone" not in {n.lstrip("/") for x in c.json("GET", "/containers/json", {"all": 1}) for n in x["Names"]}
    with pytest.raises(APIError) as err:
        c.json("POST", "/containers/create", body={"Image": "busybox", "HostConfig": {
            "AutoRemove": True, "RestartPolicy": {"Name": "always"}}})
    assert err.value.status == 400 and "AutoRemove" in err.value.message
    cid = c.json("POST", "/containers/create", body={"Image": "busybox", "Cmd": ["sh", "-c", "exit 4"]})["Id"]
    try:
        # not-running: a created container is not running, so at once; next-exit waits for the run
        assert c.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
        with c.request("POST", f"/containers/{cid}/wait", {"condition": "next-exit"}) as waiting:
            c.call("POST", f"/containers/{cid}/start")
            assert json.loads(waiting.raw.read()) == {"StatusCode": 4, "Error": None}
        with pytest.raises(APIError) as err:
            c.json("POST", f"/containers/{cid}/wait", {"condition": "bogus"})
        assert err.value.status == 400
        with c.request("POST", f"/containers/{cid}/wait", {"condition": "removed"}) as waiting:
            c.call("DELETE", f"/containers/{cid}")
            assert json.loads(waiting.raw.read())["StatusCode"] == 4
    finally:
        try:
            c.remove_container(cid, force=True)
        except APIError:
            pass
