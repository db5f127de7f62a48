"""exec on the real kernel through the API: output, exit codes, stdin, TTY, user,
and the errors (stopped container, unknown exec, missing command)."""

from __future__ import annotations

import os
import socket
import time

import pytest

from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def demux(data: bytes) -> tuple[bytes, bytes]:
    out, err = b"", b""
    while data:
        kind, size = data[0], int.from_bytes(data[4:8], "big")
        chunk, data = data[8:8 + size], data[8 + size:]
        if kind == 2:
            err += chunk
        else:
            out += chunk
    return out, err


def exec_create(c, container: str, cmd: list[str], **extra) -> str:
    body = {"AttachStdout": True, "AttachStderr": True, "Cmd": cmd, **extra}
    return c.json("POST", f"/containers/{container}/exec", body=body)["Id"]


def raw_exec(daemon, exec_id: str, stdin: bytes | None = None, tty: bool = False) -> bytes:
    """POST /exec/(id)/start with Upgrade: tcp, then read the raw stream to its end."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(daemon.socket)
    body = b'{"Detach": false, "Tty": %s}' % (b"true" if tty else b"false")
    sock.sendall(b"POST /v1.14/exec/%s/start HTTP/1.1\r\nHost: pyctr\r\nConnection: Upgrade\r\n"
                 b"Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (exec_id.encode(), len(body), body))
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    if stdin is not None:
        sock.sendall(stdin)
        sock.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


@pytest.fixture
def running(daemon):
    cid = daemon.docker("run", "-d", "-e", "FROM_CONTAINER=yes", "busybox", "sleep", "1000").stdout.decode().strip()
    yield cid
    daemon.client().remove_container(cid, force=True)


def test_exec_output_env_and_exit_code(daemon, running):
    c = daemon.client()
    exec_id = exec_create(c, running, ["sh", "-c", "echo out; echo err >&2; echo $FROM_CONTAINER $X; exit 5"],
                          Env=["X=1"])
    out, err = demux(raw_exec(daemon, exec_id))
    assert out == b"out\nyes 1\n" and err == b"err\n"
    info = c.json("GET", f"/exec/{exec_id}/json")
    assert info["ExitCode"] == 5 and info["Running"] is False and info["ContainerID"] == running
    assert info["ProcessConfig"]["entrypoint"] == "sh"


def test_exec_sees_the_container(daemon, running):
    c = daemon.client()
    exec_id = exec_create(c, running, ["sh", "-c", "hostname; ps; cat /proc/1/cmdline | tr '\\0' ' '"])
    out, _ = demux(raw_exec(daemon, exec_id))
    hostname = c.inspect_container(running)["Config"]["Hostname"]
    assert out.startswith(hostname.encode() + b"\n")
    assert b"sleep 1000" in out  # same pid namespace: the container's pid 1 is visible


def test_exec_stdin_user_and_tty(daemon, running):
    c = daemon.client()
    exec_id = exec_create(c, running, ["cat"], AttachStdin=True)
    out, _ = demux(raw_exec(daemon, exec_id, stdin=b"through stdin\n"))
    assert out == b"through stdin\n"
    exec_id = exec_create(c, running, ["id", "-u"], User="nobody")
    assert demux(raw_exec(daemon, exec_id))[0] == b"65534\n"
    exec_id = exec_create(c, running, ["sh", "-c", "test -t 0 && echo tty"], Tty=True)
    assert raw_exec(daemon, exec_id, tty=True).replace(b"\r", b"") == b"tty\n"


def test_exec_detached_then_inspect(daemon, running):
    c = daemon.client()
    exec_id = exec_create(c, running, ["sh", "-c", "touch /detached; exit 2"])
    with c.request("POST", f"/exec/{exec_id}/start", body={"Detach": True}) as r:
        assert r.status == 200
    deadline = time.monotonic() + 10
    while c.json("GET", f"/exec/{exec_id}/json")["Running"] or \
            c.json("GET", f"/exec/{exec_id}/json")["ExitCode"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert c.json("GET", f"/exec/{exec_id}/json")["ExitCode"] == 2
    check = exec_create(c, running, ["ls", "/detached"])
    assert demux(raw_exec(daemon, check))[0] == b"/detached\n"
    with pytest.raises(APIError) as err:  # started once only
        c.call("POST", f"/exec/{exec_id}/start", body={"Detach": True})
    assert err.value.status == 409


def test_exec_errors(daemon, running):
    c = daemon.client()
    missing = exec_create(c, running, ["nosuchcmd"])
    _, err = demux(raw_exec(daemon, missing))
    assert b"nosuchcmd" in err
    assert c.json("GET", f"/exec/{missing}/json")["ExitCode"] == 127
    with pytest.raises(APIError) as e:
        c.json("GET", "/exec/nosuchexec/json")
    assert e.value.status == 404
    with pytest.raises(APIError) as e:
        c.json("POST", f"/containers/{running}/exec", body={"Cmd": []})
    assert e.value.status == 400
    stopped = daemon.docker("create", "busybox", "true").stdout.decode().strip()
    try:
        with pytest.raises(APIError) as e:
            exec_create(c, stopped, ["true"])
        assert e.value.status == 409
    finally:
        c.remove_container(stopped)


def test_exec_processes_die_with_the_container(daemon):
    c = daemon.client()
    cid = daemon.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode().strip()
    exec_id = exec_create(c, cid, ["sleep", "999"])
    c.call("POST", f"/exec/{exec_id}/start", body={"Detach": True})
    deadline = time.monotonic() + 10
    while not c.json("GET", f"/exec/{exec_id}/json")["Pid"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pid = c.json("GET", f"/exec/{exec_id}/json")["Pid"]
    c.remove_container(cid, force=True)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"


def test_pyctr_exec_cli(daemon, running):
    result = daemon.pyctr("exec", running, "sh", "-c", "echo from cli; exit 3", check=False)
    assert result.returncode == 3 and result.stdout == b"from cli\n"
    assert daemon.pyctr("exec", "-i", running, "cat", input=b"piped\n").stdout == b"piped\n"
    assert daemon.pyctr("exec", "-u", "nobody", running, "id", "-u").stdout == b"65534\n"
    daemon.pyctr("exec", "-d", running, "touch", "/from-detached")
    deadline = time.monotonic() + 10
    while daemon.pyctr("exec", running, "ls", "/from-detached", check=False).returncode != 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    missing = daemon.pyctr("exec", running, "nosuchcmd", check=False)
    assert missing.returncode == 127 and b"nosuchcmd" in missing.stderr


def test_exec_tty_is_a_real_pts_in_the_container(daemon, running):
    import pexpect
    child = pexpect.spawn(daemon.env()["PYCTR_HOST"] and __import__("sys").executable,
                          ["-m", "pyctr.shell.cli", "exec", "-it", running, "sh"], env=daemon.env(),
                          timeout=20, dimensions=(33, 101))
    try:
        child.expect(r"[#$] ")
        child.sendline("tty; stty size")
        child.expect(r"/dev/pts/\d+")
        child.expect("33 101")
        child.sendline("exit 6")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 6
