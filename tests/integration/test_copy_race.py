"""A container racing the daemon's copy paths cannot make it touch host files.

The container flips /w between a real directory and a symlink to a host directory
the test owns (the attacker's target, `bait`), as in issue 16:
    while :; do mv /w /w.d/x; ln -s BAIT /w; rm /w; mv /w.d/x /w; done
while the test copies into and out of /w through every path that touches a running
container's filesystem: PUT/GET/HEAD archive, POST /copy, export, and the builder's
ADD/COPY writer. The bait directory and its secret file exist only on the host: any
write there, or the secret's content (or name) in anything the daemon sends back, is
an escape. Each test counts copies tried and escapes seen, and prints them.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.parse

import pytest

from pyctr.engine.builder import context
from pyctr.engine.builder.copier import copy_source
from pyctr.engine.libcontainer.inroot_client import InRoot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

COPIES = 1000          # each direction through the API
BUILDER_COPIES = 1000  # the writer alone, no HTTP: many states of /w all the same
EXPORTS = 50           # each a tarball of the whole filesystem


class UnixHTTP(http.client.HTTPConnection):
    """A keep-alive HTTP connection to the daemon's socket (1,000 copies, few sockets)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.socket_path)

    def send_request(self, method: str, path: str, body: bytes | None = None,
                     headers: dict | None = None) -> tuple[int, dict, bytes]:
        self.request(method, "/v1.24" + path, body=body, headers=headers or {})
        resp = self.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()


def one_file_tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def bait(tmp_path):
    """The host directory the container's symlink points to, with a secret only the host has."""
    where = tmp_path / "bait"
    where.mkdir()
    token = os.urandom(8).hex()
    (where / f"secret-{token}").write_text(f"host secret {token}\n")
    return where, token


def bait_intact(where, token) -> list[str]:
    """What changed in the bait directory (nothing, unless the daemon wrote there)."""
    names = sorted(os.listdir(where))
    problems = [] if names == [f"secret-{token}"] else [f"bait holds {names}"]
    if (where / f"secret-{token}").read_text() != f"host secret {token}\n":
        problems.append("secret rewritten")
    return problems


@pytest.fixture
def racer(daemon, bait):
    """A running container flipping /w between its own directory and a symlink to bait."""
    where, _ = bait
    # The container has a directory of its own at the bait's path: a copy resolved inside
    # the container lands there (a success), one resolved on the host lands in the bait.
    script = (f"mkdir -p /w /w.d {where}; echo inside > /w/inside; "
              f"while :; do mv /w /w.d/x; ln -s {where} /w; rm /w; mv /w.d/x /w; done")
    cid = daemon.docker("run", "-d", "busybox", "sh", "-c", script).stdout.decode().strip()
    conn = UnixHTTP(daemon.socket)
    try:
        wait_for_link(conn, cid, "the container never made /w a symlink")   # racing already
        yield cid, conn
        # ... and still racing after all the copies: each was made against a live race
        assert daemon.client().inspect_container(cid)["State"]["Running"], "the racer stopped"
        wait_for_link(conn, cid, "the container stopped flipping /w during the copies")
    finally:
        conn.close()
        daemon.client().remove_container(cid, force=True)


def wait_for_link(conn: UnixHTTP, cid: str, failure: str) -> None:
    """Until a HEAD finds /w a symlink (the racer flips it many times a second)."""
    deadline = time.monotonic() + 20
    while True:
        status, headers, _ = conn.send_request("HEAD", f"/containers/{cid}/archive?path=/w")
        stat = headers.get("X-Docker-Container-Path-Stat")
        if status == 200 and stat and json.loads(_b64(stat))["mode"] & (1 << 27):
            return
        assert time.monotonic() < deadline, failure


def _b64(text: str) -> str:
    import base64
    return base64.b64decode(text).decode()


def _report(what: str, tried: int, ok: int, escapes: list[str]) -> None:
    print(f"\n{what}: {tried} tried, {ok} succeeded, {len(escapes)} escapes")


def test_put_archive_race_never_writes_outside(racer, bait):
    cid, conn = racer
    where, token = bait
    escapes, ok = [], 0
    for i in range(COPIES):
        body = one_file_tar(f"dropped-{i}", b"from the client\n")
        status, _, _body = conn.send_request("PUT", f"/containers/{cid}/archive?path=/w", body,
                                         {"Content-Type": "application/x-tar"})
        assert status in (200, 400, 404), (status, _body)   # 404/400: /w away, a dangling link
        ok += status == 200
        if i % 50 == 0:
            escapes += bait_intact(where, token)
    escapes += bait_intact(where, token)
    _report("PUT /archive?path=/w", COPIES, ok, escapes)
    assert ok > COPIES // 10, "the race left too few successful copies to mean anything"
    assert not escapes


def test_get_archive_and_copy_race_never_read_outside(racer, bait):
    cid, conn = racer
    where, token = bait
    secret = f"/w/secret-{token}"
    requests = [("GET", f"/containers/{cid}/archive?path={secret}", None),
                ("GET", f"/containers/{cid}/archive?path=/w/", None),
                ("HEAD", f"/containers/{cid}/archive?path={secret}", None),
                ("POST", f"/containers/{cid}/copy", json.dumps({"Resource": secret}).encode()),
                ("POST", f"/containers/{cid}/copy", json.dumps({"Resource": "/w/"}).encode())]
    escapes, ok = [], 0
    for i in range(COPIES):
        method, path, body = requests[i % len(requests)]
        headers = {"Content-Type": "application/json"} if body else {}
        status, resp_headers, data = conn.send_request(method, path, body, headers)
        assert status in (200, 404), (status, data[:200])
        if status != 200:   # (a 404 names the path asked for, which holds the token)
            continue
        ok += 1
        # The container has no secret: finding it at all, or its name or content in a
        # tar of /w, means the daemon looked on the host.
        if secret in path or secret in (body or b"").decode() or token.encode() in data:
            escapes.append(f"{method} {path}: answered with the host's secret")
    escapes += bait_intact(where, token)
    _report("GET/HEAD /archive and POST /copy of /w", COPIES, ok, escapes)
    assert ok > COPIES // 20
    assert not escapes


def test_export_race_never_reads_outside(racer, bait, daemon):
    cid, conn = racer
    where, token = bait
    escapes, ok, tried = [], 0, EXPORTS
    for _ in range(tried):
        status, _, data = conn.send_request("GET", f"/containers/{cid}/export")
        # the walk meets /w half-swapped: an entry gone meanwhile is left out, never an error
        assert status == 200, (status, data[:200])
        ok += 1
        if token.encode() in data:
            escapes.append("export carried the host's secret")
    escapes += bait_intact(where, token)
    _report("export", tried, ok, escapes)
    assert ok and not escapes


def test_diff_and_commit_race_never_read_outside(racer, bait, daemon):
    """`docker diff`, `ps -s` and `commit` walk the container's layer on the host: frozen."""
    cid, conn = racer
    where, token = bait
    escapes, tried = [], 200
    for _ in range(tried):
        status, _, data = conn.send_request("GET", f"/containers/{cid}/changes")
        assert status == 200, data[:200]
        if token.encode() in data:
            escapes.append("diff listed the host's bait")
    for _ in range(50):   # `ps -s` walks the layer too (its size)
        status, _, data = conn.send_request("GET", "/containers/json?size=1")
        assert status == 200, data[:200]
    images = []
    try:
        for _ in range(5):
            status, _, data = conn.send_request("POST", f"/commit?container={cid}")
            assert status == 201, data[:200]
            images.append(json.loads(data)["Id"])
            status, _, saved = conn.send_request("GET", f"/images/{images[-1]}/get")
            assert status == 200
            if token.encode() in saved:
                escapes.append("a commit stored the host's secret")
        state = daemon.client().inspect_container(cid)["State"]
        assert state["Running"] and not state["Paused"]
    finally:
        for image in images:
            conn.send_request("DELETE", f"/images/{image}")
    escapes += bait_intact(where, token)
    _report("diff and commit", tried + len(images), tried + len(images), escapes)  # (+50 ps -s)
    assert not escapes


def test_builder_copy_into_a_racing_container_never_writes_outside(racer, bait, daemon, tmp_path):
    """The builder's ADD/COPY writer on a filesystem a container is racing in (the
    running container's own rootfs mount)."""
    cid, _ = racer
    where, token = bait
    ctx = tmp_path / "ctx"
    (ctx / "tree").mkdir(parents=True)
    (ctx / "f.txt").write_text("file\n")
    (ctx / "tree/a").write_text("a\n")
    rootfs = os.path.join(daemon.root, "graph", "layers", cid, "merged")
    assert os.path.ismount(rootfs)
    helper = InRoot()
    escapes, ok = [], 0
    try:
        for i in range(BUILDER_COPIES):
            rel = "tree" if i % 2 else "f.txt"
            dest = ["/w/", "/w/sub/file", "/w/deeper/"][i % 3]
            try:
                copy_source(helper, rootfs, context.source(str(ctx), rel), dest, False, True)
                ok += 1
            except (context.ContextError, OSError):   # /w away, or not a directory
                pass
            if i % 50 == 0:
                escapes += bait_intact(where, token)
    finally:
        helper.close()
    escapes += bait_intact(where, token)
    _report("builder ADD/COPY into /w", BUILDER_COPIES, ok, escapes)
    assert ok > BUILDER_COPIES // 10 and not escapes


def test_docker_cli_cp_race(racer, bait, daemon, tmp_path):
    """The real docker CLI, both directions, fewer times (each run is a process)."""
    cid, _ = racer
    where, token = bait
    src = tmp_path / "upload.txt"
    src.write_text("from the cli\n")
    escapes, tried, ok = [], 10, 0
    for i in range(tried):
        ok += daemon.docker("cp", str(src), f"{cid}:/w/", check=False).returncode == 0
        out = tmp_path / f"out{i}"
        out.mkdir()
        ok += daemon.docker("cp", f"{cid}:/w/secret-{token}", str(out), check=False).returncode == 0
        ok += daemon.docker("cp", f"{cid}:/w/.", str(out / "all"), check=False).returncode == 0
        found = subprocess.run(["grep", "-rl", token, str(out)], capture_output=True).stdout
        if found or os.listdir(out) and os.path.exists(out / f"secret-{token}"):
            escapes.append(f"docker cp read {found!r}")
    escapes += bait_intact(where, token)
    _report("docker cp (CLI): up, down a file, down a directory", 3 * tried, ok, escapes)
    assert ok and not escapes
