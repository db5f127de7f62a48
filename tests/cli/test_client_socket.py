"""The client against a real pyctrd on its unix socket: versioned paths, error mapping,
the attach upgrade with demux and stdin half-close, streamed uploads from a pipe."""

import io
import os
import socket
import tarfile
import tempfile
import threading

import pytest

from harness import layer_tar, wait_for
from pyctr.engine.client import APIError, Client, DaemonUnreachable
from pyctr.engine.client.hosts import parse, resolve
from pyctr.engine.client.streams import demux

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def create(daemon, name: str, cmd: list[str], **config) -> str:
    body = {"Image": "busybox", "Cmd": cmd, **config}
    return daemon.client().json("POST", "/containers/create", {"name": name}, body)["Id"]


@needs_root
def test_versioned_paths_and_json(daemon):
    for name, code in (("exit0", "0"), ("exit1", "1"), ("exit0b", "0")):
        create(daemon, name, ["sh", "-c", f"exit {code}"])
        daemon.client().start(name)
        daemon.client().wait(name)
    client = Client(daemon.host)
    exited0 = client.containers(all=True, filters={"exited": ["0"]})
    assert {n for c in exited0 for n in c.names} == {"/exit0", "/exit0b"}
    [latest] = client.containers(all=True, limit=1, filters={"exited": ["0"]})
    assert latest.names == ["/exit0b"]
    assert {n for c in client.containers(all=True, filters={"exited": ["1"]}) for n in c.names} == {"/exit1"}
    # the same route at an older API version prefix answers, an unknown one is refused
    old = daemon.client(version="1.24").json("GET", "/containers/json", {"all": 1})
    assert {"/exit0", "/exit1", "/exit0b"} <= {n for c in old for n in c["Names"]}
    with pytest.raises(APIError) as info:
        daemon.client(version="1.99").json("GET", "/containers/json")
    assert 400 <= info.value.status < 500 and "1.99" in info.value.message
    for name in ("exit0", "exit1", "exit0b"):
        client.remove_container(name)


@needs_root
def test_error_mapping(daemon):
    client = Client(daemon.host)
    with pytest.raises(APIError) as info:
        client.inspect_container("nope")
    assert (info.value.status, info.value.message) == (404, "No such container: nope")
    # a real start failure: the published host port is taken (by a socket of ours)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        create(daemon, "portclash", ["sleep", "60"], ExposedPorts={"80/tcp": {}}, HostConfig={
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}})
        with pytest.raises(APIError) as info:
            client.start("portclash")
    assert (info.value.status, info.value.message) == (
        409, f"Bind for 127.0.0.1:{port} failed: port is already allocated")
    assert client.inspect_container("portclash")["State"]["Running"] is False
    client.remove_container("portclash", force=True)


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


@needs_root
def test_attach_upgrade_demux_and_stdin_half_close(daemon):
    # echoes stdin on stdout until it ends (the client's half-close), then says so on stderr
    create(daemon, "echoer", ["sh", "-c", "cat; echo eof seen >&2"],
           OpenStdin=True, StdinOnce=True, AttachStdin=True, AttachStdout=True, AttachStderr=True)
    client = Client(daemon.host)
    session = client.attach("echoer", stdin=True)
    client.start("echoer")
    session.send(b"hello\n")
    session.close_write()
    out, err = io.BytesIO(), io.BytesIO()
    with session:
        demux(session.read, out, err)
    assert (out.getvalue(), err.getvalue()) == (b"hello\n", b"eof seen\n")
    assert client.wait("echoer") == 0
    client.remove_container("echoer")


@needs_root
def test_attach_to_a_tty_container_reads_raw_bytes_and_reports_errors(daemon):
    create(daemon, "ttyer", ["echo", "raw tty bytes"], Tty=True, AttachStdout=True)
    client = Client(daemon.host)
    with client.attach("ttyer") as session:
        client.start("ttyer")
        got = b"".join(iter(session.read, b""))
    assert got.replace(b"\r\n", b"\n") == b"raw tty bytes\n"   # a tty: no frames
    client.remove_container("ttyer")
    with pytest.raises(APIError, match="No such container: gone") as info:
        client.attach("gone")
    assert info.value.status == 404


@needs_root
def test_chunked_upload_from_a_pipe(daemon):
    payload = os.urandom(200_000)
    tarball = layer_tar({"blob": payload})
    r, w = os.pipe()   # a size the client cannot know: sent chunked
    threading.Thread(target=lambda: (os.write(w, tarball), os.close(w)), daemon=True).start()
    with os.fdopen(r, "rb") as pipe:
        with Client(daemon.host).import_image("-", "cli/piped", "latest", body=pipe) as resp:
            assert resp.is_json
            image = resp.json()["status"]
    assert daemon.client().inspect_image("cli/piped:latest")["Id"].removeprefix("sha256:") \
        == image.removeprefix("sha256:")
    # every byte arrived: the file in a container made from it is the payload
    create(daemon, "piped", ["/blob"], Image="cli/piped:latest")
    with daemon.client().request("GET", "/containers/piped/archive", {"path": "/blob"}) as resp:
        archive = resp.read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.extractfile("blob").read() == payload
    daemon.client().remove_container("piped")
    daemon.client().remove_image("cli/piped:latest")
