"""Volumes and mounts side by side with a private real dockerd (Debian's docker.io,
the bench's launcher: own data root and socket, no network): the same commands
through the same docker CLI, and the answers compared. Skipped, saying why, where
no dockerd is installed or it does not start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from harness import daemon_with_busybox, mounts_under

HERE = os.path.dirname(os.path.abspath(__file__))
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


class Side:
    """One engine as the tests drive it: `docker(...)` -> CompletedProcess."""

    def __init__(self, name, docker):
        self.name, self._docker = name, docker

    def docker(self, *args, check=True, input=None):
        result = self._docker(*args, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: docker {' '.join(args)}: {result.stderr.decode()}")
        return result

    def inspect(self, kind, name):
        return json.loads(self.docker(kind, "inspect", name).stdout)[0]


@pytest.fixture(scope="module")
def pyctr_side(tmp_path_factory, busybox_tar):
    workdir = str(tmp_path_factory.mktemp("pyctrd-vols"))
    with daemon_with_busybox(workdir, busybox_tar) as d:
        yield Side("pyctr", lambda *a, input=None: d.docker(*a, input=input, check=False))


@pytest.fixture(scope="module")
def docker_side(tmp_path_factory, busybox_tar):
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (Debian's docker.io): no comparison with Docker")
    sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
    from engines import DOCKER_CLI, Docker

    workdir = str(tmp_path_factory.mktemp("dockerd-vols"))
    try:
        engine = Docker(workdir)
    except RuntimeError as e:
        pytest.skip(f"a private dockerd does not start here: {e}")
    try:
        with open(busybox_tar, "rb") as f:
            engine.docker("import", "-", "busybox:latest", stdin=f)

        def docker(*args, input=None):
            return subprocess.run([DOCKER_CLI, *args], input=input, capture_output=True, env=engine.env(),
                                  timeout=120)
        yield Side("docker", docker)
    finally:
        engine.stop()
        assert not mounts_under(workdir), "dockerd's mounts were left behind"


@pytest.fixture
def sides(pyctr_side, docker_side):
    return [pyctr_side, docker_side]


def _shape(mounts: list[dict]) -> list[dict]:
    """Mounts without what differs by engine (paths under the data root, random names)."""
    out = []
    for m in sorted(mounts, key=lambda m: m["Destination"]):
        m = dict(m)
        if m["Type"] == "volume":
            m["Source"] = "<data root>"
            if len(m.get("Name", "")) == 64:
                m["Name"] = "<anonymous>"
        out.append(m)
    return out


def test_mounts_in_inspect_are_dockers(sides, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    shapes = []
    for side in sides:
        cid = side.docker("create", "-v", "cmp-named:/named", "-v", "/anon", "-v", f"{host}:/b:ro",
                          "--mount", f"type=bind,src={host},dst=/m,bind-propagation=rslave",
                          "--mount", "type=volume,src=cmp-ro,dst=/r,readonly,volume-nocopy",
                          "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m",
                          "busybox", "true").stdout.decode().strip()
        try:
            shapes.append(_shape(side.inspect("container", cid)["Mounts"]))
        finally:
            side.docker("rm", "-v", cid)
            side.docker("volume", "rm", "cmp-named", "cmp-ro")
    ours, theirs = shapes
    assert ours == theirs


def test_volume_inspect_and_lists_are_dockers(sides):
    answers = []
    for side in sides:
        side.docker("volume", "create", "--label", "k=v", "-o", "type=tmpfs", "-o", "device=tmpfs",
                    "-o", "o=size=2m", "cmp-vol")
        side.docker("volume", "create", "cmp-plain")
        cid = side.docker("create", "-v", "cmp-plain:/p", "busybox", "true").stdout.decode().strip()
        try:
            info = side.inspect("volume", "cmp-vol")
            dangling = side.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split()
            used = side.docker("volume", "ls", "-q", "--filter", "dangling=false").stdout.split()
            labelled = side.docker("volume", "ls", "-q", "--filter", "label=k").stdout.split()
            named = side.docker("volume", "ls", "-q", "--filter", "name=cmp-p").stdout.split()
            busy = side.docker("volume", "rm", "cmp-plain", check=False).returncode
            pruned = side.docker("volume", "prune", "-f").stdout.decode()
            answers.append((sorted(info), info["Labels"], info["Options"], info["Scope"], info["Driver"],
                            dangling, used, labelled, named, busy, "cmp-vol" in pruned, "cmp-plain" in pruned))
        finally:
            side.docker("rm", cid)
            side.docker("volume", "rm", "-f", "cmp-vol", "cmp-plain")
    assert answers[0] == answers[1]


def test_copy_up_is_dockers(sides):
    results = []
    for side in sides:
        side.docker("run", "--name", "cmp-prep", "busybox", "sh", "-c",
                    "mkdir -p /data/sub && echo seed > /data/sub/f && chown -R 1234:5678 /data "
                    "&& chmod 0750 /data && chmod 0604 /data/sub/f && ln -s /etc/passwd /data/link")
        side.docker("commit", "cmp-prep", "cmp-seeded")
        try:
            probe = "stat -c '%n %u:%g %a' /data /data/sub /data/sub/f; readlink /data/link; ls -A /data"
            seeded = side.docker("run", "--rm", "-v", "cmp-seed:/data", "cmp-seeded", "sh", "-c", probe).stdout
            nocopy = side.docker("run", "--rm", "--mount", "type=volume,src=cmp-nocopy,dst=/data,volume-nocopy",
                                 "cmp-seeded", "ls", "-A", "/data").stdout
            anon = side.docker("run", "--rm", "-v", "/data", "cmp-seeded", "sh", "-c", probe).stdout
            results.append((seeded, nocopy, anon))
        finally:
            side.docker("rm", "-f", "cmp-prep")
            side.docker("rmi", "cmp-seeded")
            side.docker("volume", "rm", "-f", "cmp-seed", "cmp-nocopy")
    assert results[0] == results[1]


BAD = [
    ["volume", "create", "a/b"],
    ["volume", "create", "-d", "nosuch", "v1"],
    ["volume", "create", "-o", "colour=red", "v2"],
    ["run", "--rm", "-v", "a/b:/x", "busybox", "true"],
    ["run", "--rm", "-v", "v7:/x:bogus", "busybox", "true"],
    ["run", "--rm", "-v", "v8:/x", "-v", "v9:/x", "busybox", "true"],
    ["run", "--rm", "--mount", "type=bind,src=/no/such/path,dst=/x", "busybox", "true"],
    ["run", "--rm", "--mount", "type=volume,src=v10,dst=/x,volume-driver=nosuch", "busybox", "true"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a[:4]) for a in BAD])
def test_what_docker_refuses_pyctr_refuses(sides, args):
    for side in sides:
        before = side.docker("volume", "ls", "-q").stdout
        result = side.docker(*args, check=False)
        assert result.returncode != 0 and b"Error response from daemon" in result.stderr, (side.name, result)
        if side.name == "pyctr":   # dockerd makes v8 before it finds the duplicate: pyctr makes nothing
            assert side.docker("volume", "ls", "-q").stdout == before
        else:
            side.docker("volume", "prune", "-f")


def test_file_binds_are_dockers(sides, tmp_path):
    f = tmp_path / "file"
    f.write_text("one file\n")
    outs = []
    for side in sides:
        outs.append(side.docker("run", "--rm", "-v", f"{f}:/etc/one:ro", "busybox", "sh", "-c",
                                "cat /etc/one; echo x > /etc/one", check=False).stdout)
    assert outs[0] == outs[1] == b"one file\n"
