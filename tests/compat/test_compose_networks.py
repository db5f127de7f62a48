"""docker-compose 1.29 (Debian's) `up`/`down` against pyctrd with compose files of format
2, 2.1 and 3: services on the default project network and on two named networks, a
scaled service (several A records for its name), aliases, depends_on, a published port
reached from 127.0.0.1, and `down` leaving nothing (no network, bridge, rule, DNS socket)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from pyctr.engine.client.api import Client

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dnsserver import UpstreamDNS  # noqa: E402
from harness import iptables_lines_about, start_with_busybox  # noqa: E402

COMPOSE = "/usr/bin/docker-compose"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(not os.path.exists(COMPOSE), reason="Debian's docker-compose is not installed "
                                 "(scripts/setup.sh installs it)")]

HTTPD = 'sh -c "mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 80 -h /www"'


def compose_file(version: str) -> str:
    depends = ("    depends_on:\n      db:\n        condition: service_started\n" if version == "2.1"
               else "    depends_on: [db]\n")
    return f"""\
version: "{version}"
services:
  web:
    image: busybox
    command: {HTTPD.format(name="web")}
    ports: ["127.0.0.1::80"]
{depends}    networks: [default, front, back]
  db:
    image: busybox
    command: {HTTPD.format(name="db")}
    networks:
      back:
        aliases: [database]
  worker:
    image: busybox
    command: sleep 1000
  proxy:
    image: busybox
    command: sleep 1000
    networks: [front]
networks:
  front:
  back:
"""


@pytest.fixture(scope="module")
def pyctrd(tmp_path_factory, busybox_tar):
    upstream = UpstreamDNS({})
    workdir = str(tmp_path_factory.mktemp("pyctrd-compose"))
    d = start_with_busybox(workdir, busybox_tar, ["--dns", upstream.address])
    try:
        yield d
    finally:
        try:
            d.stop()
        finally:
            upstream.close()
            left = d.leftovers()
            d.cleanup_by_force()
        assert not left, f"the daemon left {left}"


def compose(d, tmp_path, project: str, *args: str) -> subprocess.CompletedProcess:
    env = {**d.env(), "COMPOSE_INTERACTIVE_NO_CLI": "1"}
    return subprocess.run([COMPOSE, "-p", project, *args], cwd=tmp_path, env=env, capture_output=True,
                          timeout=180)


def inspect(d, container: str) -> dict:
    return Client(d.host, version="1.41").json("GET", f"/containers/{container}/json")


def socket_fds(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:   # closed meanwhile
            pass
    return count


def wait_for_sockets(pid: int, at_most: int, timeout: float = 15) -> int:
    """The daemon's sockets once the clients' connections are closed (they linger briefly)."""
    deadline = time.monotonic() + timeout
    while (count := socket_fds(pid)) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def addresses(nslookup_output: str) -> set[str]:
    return {line.split()[-1] for line in nslookup_output.splitlines()
            if line.startswith("Address") and "127.0.0.11" not in line}


@pytest.mark.parametrize("version", ["2", "2.1", "3"])
def test_compose_up_scale_and_down(pyctrd, tmp_path, version):
    d = pyctrd
    project = "p" + version.replace(".", "")
    (tmp_path / "docker-compose.yml").write_text(compose_file(version))
    sockets_before = socket_fds(d.proc.pid)
    bridges_before = set(d.user_network_bridges())
    try:
        up = compose(d, tmp_path, project, "up", "-d", "--scale", "worker=3")
        assert up.returncode == 0, up.stderr.decode()
        nets = {n["Name"]: n for n in d.client().json("GET", "/networks")}
        for name in ("default", "front", "back"):
            assert f"{project}_{name}" in nets
            assert nets[f"{project}_{name}"]["Labels"]["com.docker.compose.project"] == project
        web, db = f"{project}_web_1", f"{project}_db_1"
        shown = inspect(d, web)
        assert set(shown["NetworkSettings"]["Networks"]) == {f"{project}_{n}" for n in ("default", "front", "back")}
        # depends_on: db was started first
        assert inspect(d, db)["State"]["StartedAt"] <= shown["State"]["StartedAt"]

        def in_web(*cmd: str) -> subprocess.CompletedProcess:
            return compose(d, tmp_path, project, "exec", "-T", "web", *cmd)

        workers = {inspect(d, f"{project}_worker_{i}")["NetworkSettings"]["Networks"]
                   [f"{project}_default"]["IPAddress"] for i in (1, 2, 3)}
        assert addresses(in_web("nslookup", "worker").stdout.decode()) == workers
        ping = in_web("ping", "-c1", "-W", "2", "worker")
        assert ping.returncode == 0, ping.stdout + ping.stderr
        db_ip = inspect(d, db)["NetworkSettings"]["Networks"][f"{project}_back"]["IPAddress"]
        assert addresses(in_web("nslookup", "database").stdout.decode()) == {db_ip}
        assert in_web("wget", "-q", "-O-", "http://db:80/").stdout == b"db\n"
        # proxy is on front only: it sees web, not db nor the workers
        in_proxy = compose(d, tmp_path, project, "exec", "-T", "proxy", "nslookup", "db")
        assert in_proxy.returncode != 0
        assert compose(d, tmp_path, project, "exec", "-T", "proxy", "nslookup", "web").returncode == 0
        # the published port, from 127.0.0.1
        port = compose(d, tmp_path, project, "port", "web", "80").stdout.decode().strip().rsplit(":", 1)[1]
        deadline = time.monotonic() + 20
        while True:
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read() == b"web\n"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        made = set(d.user_network_bridges()) - bridges_before
        assert len(made) == 3
    finally:
        down = compose(d, tmp_path, project, "down", "-t", "1")
    assert down.returncode == 0, down.stderr.decode()
    assert not [n for n in d.client().json("GET", "/networks") if n["Name"].startswith(project + "_")]
    assert set(d.user_network_bridges()) == bridges_before
    for bridge in made:
        assert not iptables_lines_about(bridge)
    assert not [c for c in d.client().json("GET", "/containers/json", {"all": 1})
                if (c.get("Labels") or {}).get("com.docker.compose.project") == project]
    # the DNS servers' sockets are closed (each would also keep its container's netns alive)
    assert wait_for_sockets(d.proc.pid, sockets_before) <= sockets_before
