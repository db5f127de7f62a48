"""Networking on the real kernel, through pyctr's CLI, the docker CLI and the API: the
bridge, addresses, published ports (userland proxy and DNAT), links, --net modes,
--dns, --icc=false, and what bad input and a crash must leave behind.

Traffic goes only to 127.0.0.1 (published ports) and to containers these tests
started on their own daemon's bridge."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import time
import urllib.request

import pytest

from harness import iptables_lines_about
from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/etc"]


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode()


def http_get(port: int, path: str = "/hostname", timeout: float = 10) -> str:
    """GET from 127.0.0.1:port, retrying while the container's server comes up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def veths_on(bridge: str) -> list[str]:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [l.split(":")[1].strip().split("@")[0] for l in links.splitlines() if f"master {bridge} " in l]


def per_container_rules(bridge: str) -> list[str]:
    """DNAT, published-port and link rules (what is not the bridge's fixed set)."""
    return [l for l in iptables_lines_about(bridge) if "DNAT" in l or "--dport" in l or "--sport" in l]


def inspect(daemon, name: str) -> dict:
    return daemon.client().inspect_container(name)


def wait_gone(check, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_d(daemon, *args: str) -> str:
    return out(daemon.pyctr("run", "-d", *args)).strip()


def test_container_gets_an_address_on_the_daemons_bridge(daemon):
    subnet = ipaddress.ip_interface(daemon.bip).network
    text = out(daemon.pyctr("run", "--rm", "busybox", "sh", "-c",
                            "ip -o -4 addr show eth0; ip route; ip -o link show eth0; cat /etc/hosts; hostname"))
    addr = text.split("inet ")[1].split()[0]
    ip = ipaddress.ip_interface(addr)
    assert ip.network == subnet and ip.ip != ipaddress.ip_interface(daemon.bip).ip
    assert f"default via {ipaddress.ip_interface(daemon.bip).ip} dev eth0" in text
    assert "02:42:" + ":".join(f"{b:02x}" for b in ip.ip.packed) in text     # MAC from the address
    hostname = text.strip().splitlines()[-1]
    assert f"{ip.ip}\t{hostname}" in text                                    # /etc/hosts has it
    assert wait_gone(lambda: veths_on(daemon.bridge))


def test_inspect_ps_port_and_release_on_stop(daemon):
    port = free_port()
    cid = run_d(daemon, "-p", f"127.0.0.1:{port}:8080", "--name", "web1", "busybox", *HTTPD)
    try:
        info = inspect(daemon, cid)
        settings = info["NetworkSettings"]
        assert settings["Bridge"] == daemon.bridge and settings["IPPrefixLen"] == 24
        assert settings["Gateway"] == str(ipaddress.ip_interface(daemon.bip).ip)
        assert settings["Ports"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        assert settings["MacAddress"].startswith("02:42:")
        assert out(daemon.pyctr("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web1")).strip() == \
            settings["IPAddress"]
        assert http_get(port).strip() == cid[:12]                          # through the userland proxy
        assert out(daemon.pyctr("port", "web1", "8080")).strip() == f"127.0.0.1:{port}"
        assert f"127.0.0.1:{port}->8080/tcp" in out(daemon.pyctr("ps"))
        assert f"127.0.0.1:{port}" in out(daemon.docker("port", "web1", "8080"))
        assert len(veths_on(daemon.bridge)) == 1 and per_container_rules(daemon.bridge)
        assert not port_is_free(port)
        daemon.pyctr("stop", "-t", "1", "web1")
        assert port_is_free(port)
        assert per_container_rules(daemon.bridge) == []
        assert wait_gone(lambda: veths_on(daemon.bridge))
        settings = inspect(daemon, cid)["NetworkSettings"]
        assert settings["IPAddress"] == "" and not settings["Ports"]       # as Docker 1.2 after stop
        # a restart gets everything back
        daemon.pyctr("start", "web1")
        assert http_get(port).strip() == cid[:12]
    finally:
        daemon.pyctr("rm", "-f", "web1")
    assert port_is_free(port) and per_container_rules(daemon.bridge) == []


def test_publish_all_with_expose_uses_the_dynamic_range(daemon):
    cid = run_d(daemon, "-P", "--expose", "8080", "--expose", "9090/udp", "busybox", *HTTPD)
    try:
        ports = inspect(daemon, cid)["NetworkSettings"]["Ports"]
        tcp = int(ports["8080/tcp"][0]["HostPort"])
        udp = int(ports["9090/udp"][0]["HostPort"])
        assert 49153 <= tcp <= 65535 and 49153 <= udp <= 65535
        assert ports["8080/tcp"][0]["HostIp"] == "0.0.0.0"
        assert http_get(tcp).strip() == cid[:12]
        lines = out(daemon.pyctr("port", cid)).splitlines()
        assert f"8080/tcp -> 0.0.0.0:{tcp}" in lines and f"9090/udp -> 0.0.0.0:{udp}" in lines
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:   # the udp port is held
            with pytest.raises(OSError):
                s.bind(("127.0.0.1", udp))
        assert any(f"-p udp" in l and f"--dport {udp}" in l for l in per_container_rules(daemon.bridge))
    finally:
        daemon.pyctr("rm", "-f", cid)


def test_exposed_but_not_published_ports_are_listed(daemon):
    cid = run_d(daemon, "--expose", "7000", "busybox", "sleep", "100")
    try:
        assert inspect(daemon, cid)["NetworkSettings"]["Ports"] == {"7000/tcp": None}
        assert "7000/tcp" in out(daemon.pyctr("ps"))
    finally:
        daemon.pyctr("rm", "-f", cid)


def test_links_env_hosts_and_graph(daemon):
    db = run_d(daemon, "--name", "db", "-e", "SECRET=s3", "--expose", "8080", "busybox", *HTTPD)
    try:
        db_ip = inspect(daemon, "db")["NetworkSettings"]["IPAddress"]
        result = daemon.pyctr("run", "--name", "client", "--link", "db:db", "busybox", "sh", "-c",
                              "env | grep ^DB_ | sort; grep db /etc/hosts; timeout 5 wget -qO- http://db:8080/hostname")
        text = out(result)
        assert f"DB_PORT=tcp://{db_ip}:8080" in text
        assert f"DB_PORT_8080_TCP=tcp://{db_ip}:8080" in text
        assert f"DB_PORT_8080_TCP_ADDR={db_ip}" in text and "DB_PORT_8080_TCP_PORT=8080" in text
        assert "DB_PORT_8080_TCP_PROTO=tcp" in text and "DB_NAME=/client/db" in text
        assert "DB_ENV_SECRET=s3" in text
        assert f"{db_ip}\tdb" in text
        assert text.strip().endswith(db[:12])
        # the edge: inspect and ps show it
        assert inspect(daemon, "client")["HostConfig"]["Links"] == ["/db:/client/db"]
        names = [c["Names"] for c in daemon.client().json("GET", "/containers/json") if c["Id"] == db][0]
        assert sorted(names) == ["/client/db", "/db"]
        # rm --link drops the edge (as `docker rm -l /client/db`; the name's slashes escaped
        # here because the server's DELETE route takes no "/" in names)
        daemon.client().call("DELETE", "/containers/%2Fclient%2Fdb", {"link": 1})
        assert inspect(daemon, "client")["HostConfig"]["Links"] is None
        assert [c["Names"] for c in daemon.client().json("GET", "/containers/json") if c["Id"] == db][0] == ["/db"]
    finally:
        daemon.pyctr("rm", "-f", "client", "db", check=False)


def test_removing_a_linked_container_drops_the_link(daemon):
    run_d(daemon, "--name", "child1", "busybox", "sleep", "100")
    try:
        daemon.pyctr("create", "--name", "parent1", "--link", "child1:c", "busybox", "true")
        assert inspect(daemon, "parent1")["HostConfig"]["Links"] == ["/child1:/parent1/c"]
        daemon.pyctr("rm", "-f", "child1")
        assert inspect(daemon, "parent1")["HostConfig"]["Links"] is None
    finally:
        daemon.pyctr("rm", "-f", "child1", "parent1", check=False)


def test_the_docker_cli_publishes_links_and_inspects(daemon):
    port = free_port()
    cid = out(daemon.docker("run", "-d", "--name", "dweb", "-p", f"127.0.0.1:{port}:8080",
                            "busybox", *HTTPD)).strip()
    try:
        assert http_get(port).strip() == cid[:12]
        ip = out(daemon.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "dweb")).strip()
        assert ipaddress.ip_address(ip) in ipaddress.ip_interface(daemon.bip).network
        text = out(daemon.docker("run", "--rm", "--link", "dweb:web", "busybox", "sh", "-c",
                                 "echo $WEB_NAME; timeout 5 wget -qO- http://web:8080/hostname"))
        assert text.splitlines()[-1] == cid[:12] and text.splitlines()[0].endswith("/web")
    finally:
        daemon.docker("rm", "-f", "dweb")


def test_net_none_host_and_container(daemon):
    text = out(daemon.pyctr("run", "--rm", "--net=none", "busybox", "ip", "-o", "link"))
    assert [l.split(":")[1].strip() for l in text.splitlines()] == ["lo"]
    assert out(daemon.pyctr("run", "--rm", "--net=host", "busybox", "hostname")).strip() == socket.gethostname()
    with open("/etc/hosts") as f:
        assert out(daemon.pyctr("run", "--rm", "--net=host", "busybox", "cat", "/etc/hosts")) == f.read()
    web = run_d(daemon, "busybox", "sleep", "100")
    try:
        ip = inspect(daemon, web)["NetworkSettings"]["IPAddress"]
        text = out(daemon.pyctr("run", "--rm", f"--net=container:{web}", "busybox", "ip", "-o", "-4", "addr"))
        assert f"inet {ip}/" in text
    finally:
        daemon.pyctr("rm", "-f", web)


def test_dns_and_dns_search(daemon):
    text = out(daemon.pyctr("run", "--rm", "--dns", "127.0.0.53", "--dns-search", "example.test",
                            "busybox", "cat", "/etc/resolv.conf"))
    assert "nameserver 127.0.0.53" in text and "search example.test" in text


# --- bad input: a clear error, and nothing left -------------------------------------

def api_create(daemon, body: dict, **params) -> str:
    return daemon.client().json("POST", "/containers/create", params or None, body=body)["Id"]


@pytest.mark.parametrize("host_config, message", [
    ({"PortBindings": {"abc/tcp": [{"HostPort": "80"}]}}, "Invalid port"),
    ({"PortBindings": {"80/sctp": [{"HostPort": "80"}]}}, "Invalid proto"),
    ({"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}}, "Invalid hostPort"),
    ({"PortBindings": {"80/tcp": [{"HostIp": "not-an-ip", "HostPort": "80"}]}}, "Invalid host ip"),
    ({"NetworkMode": "bogus"}, "network bogus not found"),   # a name: of a user network, as dockerd says
    ({"NetworkMode": "container:"}, "container:"),
    ({"Links": ["a:b:c"]}, "Invalid link"),
    ({"Links": ["nosuchcontainer:x"]}, "Could not get container for nosuchcontainer"),
    ({"NetworkMode": "host", "Links": ["x:y"]}, "Conflicting options"),
])
def test_bad_network_requests_are_refused_at_create(daemon, host_config, message):
    before = len(daemon.client().json("GET", "/containers/json", {"all": 1}))
    with pytest.raises(APIError) as err:
        api_create(daemon, {"Image": "busybox", "Cmd": ["true"], "HostConfig": host_config})
    assert err.value.status in (400, 404) and message in str(err.value)
    assert len(daemon.client().json("GET", "/containers/json", {"all": 1})) == before


def test_bad_publish_flags_in_the_clis(daemon):
    for bad in ("1:2:3:4", "abc", "80/sctp"):
        assert daemon.pyctr("run", "--rm", "-p", bad, "busybox", "true", check=False).returncode != 0
        assert daemon.docker("run", "--rm", "-p", bad, "busybox", "true", check=False).returncode != 0


def test_host_port_in_use_fails_start_and_leaves_nothing(daemon):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        result = daemon.pyctr("run", "-d", "--name", "clash", "-p", f"127.0.0.1:{port}:8080", "--expose", "9",
                              "-p", "127.0.0.1::9", "busybox", *HTTPD, check=False)
        assert result.returncode != 0
        assert b"port is already allocated" in result.stderr
        assert inspect(daemon, "clash")["State"]["Running"] is False
        assert inspect(daemon, "clash")["NetworkSettings"]["IPAddress"] == ""
        assert per_container_rules(daemon.bridge) == [] and veths_on(daemon.bridge) == []
    finally:
        squatter.close()
        daemon.pyctr("rm", "-f", "clash", check=False)


def test_link_to_a_stopped_container_fails_start_cleanly(daemon):
    daemon.pyctr("create", "--name", "sleeper", "busybox", "true")
    try:
        daemon.pyctr("create", "--name", "needs", "--link", "sleeper:s", "-p", "127.0.0.1::8080",
                     "busybox", "true")
        result = daemon.pyctr("start", "needs", check=False)
        assert result.returncode != 0 and b"Cannot link to a non running container" in result.stderr
        assert per_container_rules(daemon.bridge) == [] and veths_on(daemon.bridge) == []
        assert inspect(daemon, "needs")["NetworkSettings"]["Ports"] is None
    finally:
        daemon.pyctr("rm", "-f", "needs", "sleeper", check=False)


# --- daemons with their own settings ------------------------------------------------

def test_exhausted_subnet_and_addresses_not_leaked(fresh_daemon):
    d = fresh_daemon()
    base = ipaddress.ip_interface(d.bip).network.network_address
    d.stop()
    d = fresh_daemon(d.workdir, ["--fixed-cidr", f"{base + 8}/30"])   # two addresses: .9 and .10
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    try:
        # failed starts (port in use) must give their address back
        for _ in range(3):
            d.pyctr("run", "-d", "-p", f"127.0.0.1:{squatter.getsockname()[1]}:80", "busybox", "true",
                    check=False)
        a = run_d(d, "busybox", "sleep", "100")
        b = run_d(d, "busybox", "sleep", "100")
        ips = {inspect(d, c)["NetworkSettings"]["IPAddress"] for c in (a, b)}
        assert ips == {str(base + 9), str(base + 10)}
        result = d.pyctr("run", "-d", "--name", "third", "busybox", "sleep", "100", check=False)
        assert result.returncode != 0 and b"no free address" in result.stderr
        assert len(veths_on(d.bridge)) == 2
        d.pyctr("rm", "-f", a)
        d.pyctr("start", "third")
        assert inspect(d, "third")["NetworkSettings"]["IPAddress"] in ips
    finally:
        squatter.close()


def test_icc_false_isolates_except_through_links(fresh_daemon):
    d = fresh_daemon(args=["--icc=false"])
    web = run_d(d, "--name", "iccweb", "--expose", "8080", "busybox", *HTTPD)
    ip = inspect(d, web)["NetworkSettings"]["IPAddress"]
    # (wget under sh: as pid 1 it would ignore timeout's SIGTERM)
    blocked = d.pyctr("run", "--rm", "busybox", "sh", "-c",
                      f"timeout 3 wget -qO- http://{ip}:8080/hostname; echo rc=$?")
    assert web[:12] not in out(blocked) and "rc=0" not in out(blocked)
    linked = d.pyctr("run", "--rm", "--link", "iccweb:w", "busybox", "sh", "-c",
                     "timeout 5 wget -qO- http://w:8080/hostname; echo rc=$?")
    assert out(linked).split() == [web[:12], "rc=0"]
    assert any(f"-i {d.bridge} -o {d.bridge} -j DROP" in l for l in iptables_lines_about(d.bridge))
    assert not any("--sport 8080" in l for l in per_container_rules(d.bridge))   # the link's rules went


def test_dnat_path_without_the_userland_proxy(fresh_daemon):
    d = fresh_daemon(args=["--userland-proxy=false"])
    with open(f"/proc/sys/net/ipv4/conf/{d.bridge}/route_localnet") as f:
        assert f.read().strip() == "1"     # on our own bridge only
    port = free_port()
    cid = run_d(d, "-p", f"127.0.0.1:{port}:8080", "busybox", *HTTPD)
    assert http_get(port).strip() == cid[:12]                 # 127.0.0.1 -> container by DNAT
    assert not port_is_free(port)                             # still reserved on the host
    d.pyctr("rm", "-f", cid)
    assert port_is_free(port) and per_container_rules(d.bridge) == []


def test_crash_leaves_nothing_stale_after_restart(fresh_daemon):
    d = fresh_daemon()
    port = free_port()
    cid = run_d(d, "-p", f"127.0.0.1:{port}:8080", "--name", "survivor", "busybox", *HTTPD)
    assert http_get(port).strip() == cid[:12]
    assert veths_on(d.bridge) and per_container_rules(d.bridge)
    d.kill()                                            # SIGKILL: no clean-up at all
    d2 = fresh_daemon(d.workdir)
    assert veths_on(d2.bridge) == [] or wait_gone(lambda: veths_on(d2.bridge))
    assert per_container_rules(d2.bridge) == []
    assert port_is_free(port)
    info = inspect(d2, "survivor")
    assert info["State"]["Running"] is False and info["NetworkSettings"]["IPAddress"] == ""
    # the bridge's fixed rules are there exactly once
    assert sum(l.startswith("filter: -A FORWARD") for l in iptables_lines_about(d2.bridge)) == 1
    d2.pyctr("start", "survivor")
    assert http_get(port).strip() == cid[:12]


def test_bad_daemon_network_flags(tmp_path):
    from harness import DaemonProcess
    for args, message in ((["--bip", "10.1.2.3"], "prefix length"),
                          (["--bip", "nonsense/8"], "--bip"),
                          (["--mtu", "10"], "--mtu"),
                          (["--bridge", "x" * 16], "--bridge"),
                          (["--bridge", "none", "--bip", "10.9.9.1/24"], "--bridge=none")):
        d = DaemonProcess(str(tmp_path / args[0].strip("-") / str(len(args[1]))), args)
        with pytest.raises(RuntimeError) as err:
            d.start()   # it exits at once; the bound only covers a hang
        assert message in str(err.value)


def test_bridge_none_gives_only_lo(fresh_daemon):
    d = fresh_daemon(args=["--bridge=none"])
    text = out(d.pyctr("run", "--rm", "busybox", "ip", "-o", "link"))
    assert [l.split(":")[1].strip() for l in text.splitlines()] == ["lo"]


def test_one_daemon_per_bridge(fresh_daemon, tmp_path):
    from harness import DaemonProcess
    d = fresh_daemon()
    other = DaemonProcess(str(tmp_path / "other"), ["--bridge", d.bridge, "--bip", d.bip])
    with pytest.raises(RuntimeError) as err:
        other.start()   # it refuses at once; the bound only covers a hang
    assert "used by another running pyctrd" in str(err.value)
    # and the running daemon's network is untouched
    cid = run_d(d, "busybox", "sleep", "100")
    assert len(veths_on(d.bridge)) == 1
    d.pyctr("rm", "-f", cid)
