"""TLS on the daemon's tcp listener, and who may talk to the daemon at all: the
real docker CLI and pyctr over TLS, and every bad client refused while the good
ones keep being served; the unix socket's mode and group."""

from __future__ import annotations

import grp
import os
import socket
import ssl
import stat
import subprocess
import sys

import pytest

from certs import issue, make_ca
from harness import DOCKER, DaemonProcess

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    ca, ca_cert, ca_key = make_ca(d, "ca")
    other_ca, other_cert, other_key = make_ca(d, "other-ca")
    return {
        "dir": d, "ca": ca,
        "server": issue(d, "server", ca_cert, ca_key, server=True),
        "client": issue(d, "client", ca_cert, ca_key, server=False),
        "stranger": issue(d, "stranger", other_cert, other_key, server=False),
        "expired": issue(d, "expired", ca_cert, ca_key, server=False, expired=True),
    }


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory, pki, busybox_tar):
    port = free_port()
    d = DaemonProcess(str(tmp_path_factory.mktemp("tlsd")),
                      ["--shutdown-timeout", "2", "-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
                       "--tlscacert", pki["ca"].cert, "--tlscert", pki["server"].cert,
                       "--tlskey", pki["server"].key]).start()
    d.tcp = f"tcp://127.0.0.1:{port}"
    d.port = port
    with open(busybox_tar, "rb") as f:  # over the unix socket the harness also gives it
        d.client().import_image("-", repo="busybox", tag="latest", body=f).read()
    try:
        yield d
    finally:
        d.stop()
        d.cleanup_by_force()


def tls_flags(pki, pair="client") -> list[str]:
    return ["--tlsverify", "--tlscacert", pki["ca"].cert, "--tlscert", pki[pair].cert,
            "--tlskey", pki[pair].key]


def run(cmd: list[str], env=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, timeout=60,
                          env={**os.environ, "DOCKER_CONFIG": "/nonexistent-pyctr-test", **(env or {})})


def test_docker_cli_over_tls(tls_daemon, pki, busybox_tar):
    docker = [DOCKER, "-H", tls_daemon.tcp, *tls_flags(pki)]
    version = run([*docker, "version"])
    assert version.returncode == 0 and b"API version:      1.41" in version.stdout, version.stdout
    with open(busybox_tar, "rb") as f:
        imported = subprocess.run([*docker, "import", "-", "overtls:latest"], stdin=f,
                                  capture_output=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    ran = run([*docker, "run", "--rm", "overtls", "echo", "over tls"])
    assert ran.returncode == 0 and ran.stdout == b"over tls\n", ran.stderr


def test_pyctr_over_tls_with_environment(tls_daemon, pki, tmp_path):
    # DOCKER_CERT_PATH holds ca.pem, cert.pem, key.pem, as Docker clients expect.
    certs = tmp_path / "certs"
    certs.mkdir()
    for src, dst in ((pki["ca"].cert, "ca.pem"), (pki["client"].cert, "cert.pem"), (pki["client"].key, "key.pem")):
        (certs / dst).write_bytes(open(src, "rb").read())
    env = {"DOCKER_HOST": tls_daemon.tcp, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    result = run([sys.executable, "-m", "pyctr.shell.cli", "version"], env)
    assert result.returncode == 0 and b"Server API version" in result.stdout, result.stderr
    result = run([sys.executable, "-m", "pyctr.shell.cli", "run", "--rm", "busybox", "sh", "-c", "cat"], env)
    assert result.returncode == 0


@pytest.mark.parametrize("pair", [None, "stranger", "expired"])
def test_bad_clients_are_refused_and_good_ones_still_served(tls_daemon, pki, pair):
    ctx = ssl.create_default_context(cafile=pki["ca"].cert)
    if pair:
        ctx.load_cert_chain(pki[pair].cert, pki[pair].key)
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        with socket.create_connection(("127.0.0.1", tls_daemon.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
                if not s.recv(100):
                    raise ConnectionResetError("closed without an answer")
    pyctr = run([sys.executable, "-m", "pyctr.shell.cli", "-H", tls_daemon.tcp, *tls_flags(pki), "version"])
    assert pyctr.returncode == 0, pyctr.stderr


def test_plain_http_to_tls_port_and_clear_client_messages(tls_daemon, pki):
    with socket.create_connection(("127.0.0.1", tls_daemon.port), timeout=10) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not s.recv(100).startswith(b"HTTP/1.1 200")
    no_cert = run([sys.executable, "-m", "pyctr.shell.cli", "-H", tls_daemon.tcp, "--tlsverify",
                   "--tlscacert", pki["ca"].cert, "--tlscert", "/nonexistent", "version"])
    assert no_cert.returncode == 1 and b"refused this client" in no_cert.stderr, no_cert.stderr
    wrong_ca = run([sys.executable, "-m", "pyctr.shell.cli", "-H", tls_daemon.tcp, *tls_flags(pki, "stranger"),
                    "--tlscacert", pki["stranger"].cert, "version"])
    assert wrong_ca.returncode == 1 and b"could not be verified" in wrong_ca.stderr, wrong_ca.stderr


def test_non_loopback_tcp_without_tls_refuses_to_start(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pyctr.engine.main", "-H", "tcp://0.0.0.0:1",
                             "-g", str(tmp_path / "root"), "--exec-root", str(tmp_path / "exec")],
                            capture_output=True, timeout=30)
    assert result.returncode != 0 and b"without TLS" in result.stderr
    assert not os.path.exists(tmp_path / "root" / "pyctrd.pid")


def test_unix_socket_mode_and_group(tmp_path, busybox_tar):
    group = "pyctrtest"
    subprocess.run(["groupadd", "-f", group], check=True)
    try:
        d = DaemonProcess(str(tmp_path / "d"), ["--shutdown-timeout", "2", "-G", group]).start()
        try:
            st = os.stat(d.socket)
            assert stat.S_IMODE(st.st_mode) == 0o660
            assert st.st_gid == grp.getgrnam(group).gr_gid and st.st_uid == 0
        finally:
            d.stop()
        missing = subprocess.run([sys.executable, "-m", "pyctr.engine.main", "-H", f"unix://{tmp_path}/x.sock",
                                  "-G", "no-such-group-pyctr", "-g", str(tmp_path / "r2"),
                                  "--exec-root", str(tmp_path / "e2")], capture_output=True, timeout=30)
        assert missing.returncode != 0 and b"no-such-group-pyctr" in missing.stderr
    finally:
        subprocess.run(["groupdel", group], check=False)
