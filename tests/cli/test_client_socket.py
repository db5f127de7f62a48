"""The client against a real HTTP server on a unix socket: requests, error
mapping, the attach upgrade with demux and stdin half-close, streamed uploads."""

import io
import os
import tempfile
import threading

import pytest

from pyctr.engine.client import APIError, Client, DaemonUnreachable
from pyctr.engine.client.hosts import parse, resolve
from pyctr.engine.client.streams import demux

from .fakedaemon import Hijack, Reply, frame


def test_versioned_paths_and_json(daemon):
    daemon.route("GET", "/containers/json", [{"Id": "abc", "Names": ["/x"], "Ports": [
        {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"}]}])
    client = Client(daemon.url)
    [c] = client.containers(all=True, limit=3, filters={"exited": ["0"]})
    assert (c.id, c.names, c.ports[0].public_port) == ("abc", ["/x"], 8080)
    req = daemon.requests[-1]
    assert req.query == {"all": "1", "limit": "3", "filters": '{"exited": ["0"]}'}


def test_error_mapping(daemon):
    daemon.route("GET", "/containers/nope/json", Reply(404, {"message": "No such container: nope"}))
    daemon.route("POST", "/containers/x/start",
                 Reply(500, body=b"Cannot start container x: boom\n", content_type="text/plain"))
    client = Client(daemon.url)
    with pytest.raises(APIError) as info:
        client.inspect_container("nope")
    assert (info.value.status, info.value.message) == (404, "No such container: nope")
    with pytest.raises(APIError, match="Cannot start container x: boom"):
        client.start("x")


def test_unreachable_daemon_message():
    with tempfile.TemporaryDirectory() as d:
        with pytest.raises(DaemonUnreachable) as info:
            Client(f"unix://{d}/missing.sock").ping()
    assert str(info.value) == (f"Cannot connect to the pyctr daemon at unix://{d}/missing.sock. "
                               "Is pyctrd running?")
    with pytest.raises(DaemonUnreachable, match="tcp://127.0.0.1:1. Is pyctrd running"):
        Client("tcp://127.0.0.1:1").ping()


def test_host_resolution_order():
    assert resolve(None, {}) == "unix:///var/run/pyctr.sock"
    assert resolve(None, {"DOCKER_HOST": "tcp://a:1"}) == "tcp://a:1"
    assert resolve(None, {"DOCKER_HOST": "tcp://a:1", "PYCTR_HOST": "unix:///p"}) == "unix:///p"
    assert resolve("tcp://b:2", {"PYCTR_HOST": "unix:///p"}) == "tcp://b:2"
    assert parse("tcp://:2375").url == "tcp://127.0.0.1:2375"
    assert parse("unix:///tmp/x.sock").path == "/tmp/x.sock"
    with pytest.raises(ValueError):
        parse("tcp://host")


def test_attach_upgrade_demux_and_stdin_half_close(daemon):
    seen = {}

    def serve(rfile, wfile):
        # echo stdin back on stdout until the client half-closes, then say bye on stderr
        data = b""
        while True:
            chunk = rfile.read1(4096)
            if not chunk:
                break
            data += chunk
            wfile.write(frame(1, chunk))
            wfile.flush()
        seen["stdin"] = data
        wfile.write(frame(2, b"eof seen\n"))
        wfile.flush()

    daemon.route("POST", "/containers/c1/attach", Hijack(serve))
    session = Client(daemon.url).attach("c1", stdin=True)
    req = daemon.requests[-1]
    assert req.headers["Connection"] == "Upgrade" and req.headers["Upgrade"] == "tcp"
    assert req.query == {"stream": "1", "stdin": "1", "stdout": "1", "stderr": "1"}
    session.send(b"hello\n")
    session.close_write()
    out, err = io.BytesIO(), io.BytesIO()
    with session:
        demux(session.read, out, err)
    assert (out.getvalue(), err.getvalue(), seen["stdin"]) == (b"hello\n", b"eof seen\n", b"hello\n")


def test_attach_accepts_200_and_reports_errors(daemon):
    daemon.route("POST", "/containers/old/attach",
                 Hijack(lambda r, w: w.write(b"raw tty bytes"), status_line="HTTP/1.1 200 OK"))
    daemon.route("POST", "/containers/gone/attach", Reply(404, {"message": "No such container: gone"}))
    client = Client(daemon.url)
    with client.attach("old") as session:
        assert b"".join(iter(session.read, b"")) == b"raw tty bytes"
    with pytest.raises(APIError, match="No such container: gone") as info:
        client.attach("gone")
    assert info.value.status == 404


def test_chunked_upload_from_a_pipe(daemon):
    daemon.route("POST", "/images/create", Reply(chunks=[b'{"status":"abc123"}\n']))
    r, w = os.pipe()
    payload = os.urandom(200_000)
    threading.Thread(target=lambda: (os.write(w, payload), os.close(w)), daemon=True).start()
    with os.fdopen(r, "rb") as pipe:
        with Client(daemon.url).import_image("-", "busybox", "latest", body=pipe) as resp:
            assert resp.is_json and resp.json() == {"status": "abc123"}
    req = daemon.requests[-1]
    assert req.query == {"fromSrc": "-", "repo": "busybox", "tag": "latest"}
    assert req.headers.get("Transfer-Encoding") == "chunked" and req.body == payload
