"""docker-py 7's exec API as its own integration suite uses it (21 cases: plain,
string and user commands, streaming, demultiplexing with and without a TTY, sockets,
detached starts, inspect, Env, WorkingDir, detach keys from the default, the client's
config and the request), against a real pyctrd. Each case asserts the bytes the
client gets back, as docker-py's suite does against Docker."""

from __future__ import annotations

import os
import time

import pytest

docker = pytest.importorskip("docker")
from docker.utils.proxy import ProxyConfig  # noqa: E402
from docker.utils.socket import next_frame_header, read_exactly  # noqa: E402

from harness import wait_for  # noqa: E402
from private_dockerd import private_dockerd  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# Output on stdout, a pause, then output on stderr: two separate reads for the client.
OUT_PAUSE_ERR = 'sh -c "echo hello out; sleep 0.5; echo hello err >&2"'


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, busybox_tar):
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-exec")), busybox_tar) as engine:
        yield engine


@pytest.fixture(scope="module", params=["pyctr", "dockerd"])
def client(request, daemon):
    """docker-py against pyctrd, and against a private dockerd: the same cases, the same bytes."""
    host = daemon.host if request.param == "pyctr" else request.getfixturevalue("dockerd").host
    c = docker.APIClient(base_url=host, version="1.41")
    c.engine_name = request.param
    yield c
    c.close()


def create(client, **kwargs) -> str:
    # no network: the private dockerd has no bridge of its own
    return client.create_container("busybox", "cat", detach=True, stdin_open=True,
                                   host_config=client.create_host_config(network_mode="none"), **kwargs)["Id"]


@pytest.fixture
def engine(client) -> str:
    return client.engine_name


@pytest.fixture
def cat(client):
    """A running busybox `cat` with stdin open: what each of docker-py's cases execs into."""
    cid = create(client)
    client.start(cid)
    yield cid
    client.remove_container(cid, force=True)


def ctrl(letter: str) -> bytes:
    return bytes([ord(letter) - ord("a") + 1])


def assert_detached(sock, keys: list[bytes]) -> None:
    """Type the keys into a TTY exec running `cat`: the daemon must end the session
    (the connection closes) while the exec goes on."""
    raw = getattr(sock, "_sock", sock)
    for key in keys:
        raw.sendall(key)
    raw.settimeout(30)
    # `cat` echoes nothing of the keys (a terminal's input is not its output until cat
    # reads a line); the connection's end is what says the session detached.
    data = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    else:
        raise AssertionError(f"still attached after the detach keys; got {data!r}")


def assert_not_detached(sock, keys: list[bytes]) -> None:
    """Keys that are not the detach keys go to the process: the session stays."""
    raw = getattr(sock, "_sock", sock)
    for key in keys:
        raw.sendall(key)
    raw.sendall(b"still here\n")
    raw.settimeout(30)
    data = b""
    while b"still here" not in data:
        chunk = raw.recv(4096)
        assert chunk, f"the session ended on keys that are not the detach keys: {data!r}"
        data += chunk


def test_execute_command_with_proxy_env(client):
    # docker-py puts its proxy settings into the container's Env at create; an exec sees them
    client._proxy_configs = ProxyConfig(ftp="a", https="b", http="c", no_proxy="d")
    try:
        cid = create(client)
    finally:
        client._proxy_configs = ProxyConfig()
    try:
        client.start(cid)
        cmd = 'sh -c "env | grep -i proxy"'
        lines = client.exec_start(client.exec_create(cid, cmd=cmd)).decode().split("\n")
        for item in ("ftp_proxy=a", "https_proxy=b", "http_proxy=c", "no_proxy=d",
                     "FTP_PROXY=a", "HTTPS_PROXY=b", "HTTP_PROXY=c", "NO_PROXY=d"):
            assert item in lines
        env = {"https_proxy": "xxx", "HTTPS_PROXY": "XXX"}   # the exec's Env wins
        lines = client.exec_start(client.exec_create(cid, cmd=cmd, environment=env)).decode().split("\n")
        for item in ("ftp_proxy=a", "https_proxy=xxx", "http_proxy=c", "no_proxy=d",
                     "FTP_PROXY=a", "HTTPS_PROXY=XXX", "HTTP_PROXY=c", "NO_PROXY=d"):
            assert item in lines
    finally:
        client.remove_container(cid, force=True)


def test_execute_command(client, cat):
    created = client.exec_create(cat, ["echo", "hello"])
    assert "Id" in created
    assert client.exec_start(created) == b"hello\n"


def test_exec_command_string(client, cat):
    assert client.exec_start(client.exec_create(cat, "echo hello world")) == b"hello world\n"


def test_exec_command_as_user(client, cat):
    assert client.exec_start(client.exec_create(cat, "whoami", user="daemon")) == b"daemon\n"


def test_exec_command_as_root(client, cat):
    assert client.exec_start(client.exec_create(cat, "whoami")) == b"root\n"


def test_exec_command_streaming(client, cat):
    got = b"".join(client.exec_start(client.exec_create(cat, ["echo", "hello\nworld"]), stream=True))
    assert got == b"hello\nworld\n"


def test_exec_start_socket(client, cat):
    # A TTY exec started without `Tty` in the start body: the stream is multiplexed.
    line = b"yay, interactive exec!"
    sock = client.exec_start(client.exec_create(cat, ["printf", line.decode()], tty=True), socket=True)
    try:
        stream, size = next_frame_header(sock)
        assert (stream, size) == (1, len(line))
        assert read_exactly(sock, size) == line
    finally:
        sock.close()


def test_exec_start_detached(client, cat):
    exec_id = client.exec_create(cat, ["sh", "-c", "printf asdqwe > /tmp/detached"])
    assert client.exec_start(exec_id, detach=True) == ""
    wait_for(lambda: client.exec_inspect(exec_id)["ExitCode"] is not None)
    assert client.exec_inspect(exec_id)["ExitCode"] == 0
    assert client.exec_start(client.exec_create(cat, ["cat", "/tmp/detached"])) == b"asdqwe"


def test_exec_inspect(client, cat):
    exec_id = client.exec_create(cat, ["mkdir", "/does/not/exist"])
    client.exec_start(exec_id)
    info = client.exec_inspect(exec_id)
    assert info["ExitCode"] not in (None, 0)
    # as Docker: `user` left out when not given
    assert info["ProcessConfig"] == {"entrypoint": "mkdir", "arguments": ["/does/not/exist"],
                                     "tty": False, "privileged": False}


def test_exec_command_with_env(client, cat):
    assert b"X=Y\n" in client.exec_start(client.exec_create(cat, "env", environment=["X=Y"]))


def test_exec_command_with_workdir(client, cat):
    # docker-py's image has the directory; ours gets it first
    client.exec_start(client.exec_create(cat, ["mkdir", "-p", "/var/opt"]))
    assert client.exec_start(client.exec_create(cat, "pwd", workdir="/var/opt")) == b"/var/opt\n"


def test_detach_with_default(client, cat):
    exec_id = client.exec_create(cat, "cat", stdin=True, tty=True, stdout=True)
    sock = client.exec_start(exec_id, tty=True, socket=True)
    try:
        assert_detached(sock, [ctrl("p"), ctrl("q")])
    finally:
        sock.close()


def test_detach_with_config_file(client, cat):
    client._general_configs["detachKeys"] = "ctrl-p"
    try:
        sock = client.exec_start(client.exec_create(cat, "cat", stdin=True, tty=True, stdout=True),
                                 tty=True, socket=True)
    finally:
        del client._general_configs["detachKeys"]
    try:
        assert_detached(sock, [ctrl("p")])
    finally:
        sock.close()


def test_detach_with_arg(client, cat):
    client._general_configs["detachKeys"] = "ctrl-p"
    try:
        exec_id = client.exec_create(cat, "cat", stdin=True, tty=True, detach_keys="ctrl-x", stdout=True)
    finally:
        del client._general_configs["detachKeys"]
    assert client.exec_inspect(exec_id)["DetachKeys"] == "GA=="   # Docker shows the bytes, in base64
    sock = client.exec_start(exec_id, tty=True, socket=True)
    try:
        assert_not_detached(sock, [ctrl("p")])   # the config's keys do not count then
        assert_detached(sock, [ctrl("x")])
    finally:
        sock.close()


# --- docker-py's demultiplexing cases: stdout, a pause, stderr ------------------------

def test_exec_command_no_stream_no_demux(client, cat):
    log = client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR))
    assert b"hello out\n" in log and b"hello err\n" in log


def test_exec_command_stream_no_demux(client, cat):
    log = list(client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR), stream=True))
    assert sorted(log) == [b"hello err\n", b"hello out\n"]


def test_exec_command_no_stream_demux(client, cat):
    assert client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR), demux=True) == \
        (b"hello out\n", b"hello err\n")


def test_exec_command_stream_demux(client, cat):
    log = list(client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR), demux=True, stream=True))
    assert len(log) == 2 and (b"hello out\n", None) in log and (None, b"hello err\n") in log


def test_exec_command_tty_no_stream_no_demux(client, cat):
    # the issue's loss: b't\r\nhello err\r\n' (a raw stream read as frames)
    assert client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR, tty=True)) == \
        b"hello out\r\nhello err\r\n"


def test_exec_command_tty_stream_no_demux(client, cat):
    log = list(client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR, tty=True), stream=True))
    assert b"hello out\r\n" in log
    assert b"".join(log) == b"hello out\r\nhello err\r\n"


def test_exec_command_tty_no_stream_demux(client, cat):
    assert client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR, tty=True), demux=True) == \
        (b"hello out\r\nhello err\r\n", None)


def test_exec_command_tty_stream_demux(client, cat):
    log = list(client.exec_start(client.exec_create(cat, OUT_PAUSE_ERR, tty=True), demux=True, stream=True))
    assert (b"hello out\r\n", None) in log
    assert b"".join(out for out, _ in log) == b"hello out\r\nhello err\r\n"
    assert all(err is None for _, err in log)


def test_invalid_detach_keys_are_a_400(client, cat, engine):
    with pytest.raises(docker.errors.APIError) as caught:
        client.exec_create(cat, "cat", stdin=True, tty=True, detach_keys="ctrl-1")
    assert "Invalid escape keys (ctrl-1) provided" in str(caught.value)
    assert caught.value.status_code == (400 if engine == "pyctr" else 500)   # Docker 20.10: a 500


def test_resize_before_start_is_the_size_the_process_sees(client, cat, engine):
    if engine == "dockerd":
        pytest.skip("Docker 20.10 answers a resize before the start with 500 "
                    "'timeout waiting for exec session ready'; pyctr sets the size the process starts with")
    exec_id = client.exec_create(cat, ["stty", "size"], tty=True)
    client.exec_resize(exec_id, height=37, width=123)
    assert client.exec_start(exec_id, tty=True) == b"37 123\r\n"
    info = client.exec_inspect(exec_id)
    assert info["ProcessConfig"]["tty"] is True and info["ProcessConfig"]["entrypoint"] == "stty"


def test_privileged_user_and_env_of_an_exec(client, cat, engine):
    if engine == "dockerd":
        pytest.skip("dockerd's --privileged fails on this host (its bounding set lacks CAP_SYS_RESOURCE: "
                    "'unable to apply caps')")
    def cap_eff(**kwargs) -> int:
        out = client.exec_start(client.exec_create(cat, ["grep", "CapEff", "/proc/self/status"], **kwargs))
        return int(out.split()[1], 16)
    assert cap_eff(privileged=True) & ~cap_eff() != 0
    exec_id = client.exec_create(cat, ["sh", "-c", "id -u; echo $Z"], user="daemon", environment={"Z": "zed"},
                                 privileged=True)
    assert client.exec_start(exec_id) == b"1\nzed\n"
    config = client.exec_inspect(exec_id)["ProcessConfig"]
    assert config["user"] == "daemon" and config["privileged"] is True
