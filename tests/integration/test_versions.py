"""API versions: the accepted range, and each version's shapes (engine/server/shapes.py)."""

from __future__ import annotations

import os

import pytest

from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def at(daemon, version: str):
    client = daemon.client()
    client.version = version
    return client


def test_range_of_versions(daemon):
    for version in ("1.12", "1.14", "1.20", "1.24"):
        assert at(daemon, version).json("GET", "/version")["Os"] == "linux"
    for version, words in (("1.99", "too new"), ("1.5", "too old"), ("1.11", "too old")):
        with pytest.raises(APIError) as err:
            at(daemon, version).json("GET", "/version")
        assert err.value.status == 400 and words in err.value.message


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


def test_docker_py_workflow(daemon, tmp_path):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host)  # version="auto": negotiates 1.24
    assert client.containers.run("busybox", "echo hi", remove=True) == b"hi\n"
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
    for method, path in (("GET", "/networks"), ("POST", "/volumes/create"),
                         ("POST", f"/containers/{cid}/update")):
        with pytest.raises(APIError) as err:
            at(daemon, "1.24").json(method, path)
        assert err.value.status == 501 and "not implemented" in err.value.message
    listed = daemon.docker("network", "ls", check=False)
    assert listed.returncode != 0 and b"not implemented" in listed.stderr
