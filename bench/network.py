"""Benchmarks of networking: what the bridge adds to `run` latency (network setup per
container), and the time to pull a fixed payload over HTTP from a container through a
port published on 127.0.0.1, by the userland proxy and by DNAT.

pyctrd: the engine run.py started (its own bridge and subnet, from the tests' harness)
for set-up time and the proxy path, and a second pyctrd with --userland-proxy=false for
the DNAT path. dockerd: run.py's dockerd has no network (--bridge=none), so a second
dockerd is started here on a bridge of its own (its own name and a free /24, never
docker0 or 172.17/16) with --iptables=false: that gives set-up time and the proxy path
(docker-proxy). Docker's DNAT path is not measured: it needs --iptables=true, and
dockerd 20.10 then creates its DOCKER, DOCKER-USER and DOCKER-ISOLATION chains in the
host's shared tables and leaves them there after it stops.

User-defined networks: create+remove of a network, connect of a running container to a
second network, and DNS lookups a second of a container's name at 127.0.0.11 from inside
a container (a host python entered into its netns). dockerd: one with an address pool of
its own and --iptables=false (so it makes no rules at all, while pyctrd installs its
bridge chains and isolation rules: create+remove compares unequal work)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from pyctr.engine.client.api import Client

from engines import BenchContext, Docker, Engine, Pyctr, import_busybox, median_time
from harness import DaemonProcess, pick_address_pool, pick_network

PAYLOAD_MB = 64
SERVE = ["sh", "-c", "dd if=/dev/zero of=/tmp/blob bs=1M count={mb} 2>/dev/null && "
         "exec httpd -f -p 8080 -h /tmp"]


def run(engine: Engine, ctx: BenchContext) -> dict:
    mb = 16 if ctx.quick else PAYLOAD_MB
    if isinstance(engine, Pyctr):
        result = measure(engine, ctx, mb, "proxy")
        result.update(measure_user_networks(engine, ctx))
        dnat = PyctrNoProxy(os.path.join(ctx.workdir, "pyctr-dnat"))
        try:
            import_busybox(dnat, ctx.busybox)
            result[f"net_dnat_get_{mb}mb_s"] = transfer(dnat, mb, ctx.reps)
        finally:
            dnat.stop()
        return result
    if isinstance(engine, Docker):
        bridged = BridgedDocker(os.path.join(ctx.workdir, "docker-bridged"))
        try:
            import_busybox(bridged, ctx.busybox)
            result = measure(bridged, ctx, mb, "proxy")
        finally:
            bridged.stop()
        pooled = PooledDocker(os.path.join(ctx.workdir, "docker-pooled"))
        try:
            import_busybox(pooled, ctx.busybox)
            result.update(measure_user_networks(pooled, ctx))
        finally:
            pooled.stop()
        return result
    return {}


# --- user-defined networks (issue 20) -------------------------------------------------

DNS_QUERIES = 2000
# Sequential A queries for a container's name at 127.0.0.11 from inside a container's
# network namespace (a python of the host's entered into it, so the client is the same
# for both engines and costs no process per query): queries a second.
DNS_CLIENT = """
import socket, sys, time
import dns.message
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
wire = dns.message.make_query(sys.argv[1], "A").to_wire()
n = int(sys.argv[2])
ok = 0
t0 = time.perf_counter()
for i in range(n):
    s.sendto(wire, ("127.0.0.11", 53))
    try:
        reply = dns.message.from_wire(s.recv(4096))
        ok += bool(reply.answer)
    except OSError:
        pass
print(n / (time.perf_counter() - t0), ok)
"""


def measure_user_networks(engine: Engine, ctx: BenchContext) -> dict:
    """Create+remove of a network, connect of a running container, DNS lookups a second."""
    client = Client(engine.host, version="1.41")
    reps = ctx.reps * 2

    def create_remove() -> None:
        net = client.json("POST", "/networks/create", body={"Name": "bench-net"})["Id"]
        client.call("DELETE", f"/networks/{net}")

    result = {"net_user_create_rm_s": median_time(create_remove, reps)}
    client.json("POST", "/networks/create", body={"Name": "bench-a"})
    client.json("POST", "/networks/create", body={"Name": "bench-b"})
    try:
        engine.docker("run", "-d", "--name", "bench-target", "--network", "bench-a", "busybox", "sleep", "1000")
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            client.call("POST", "/networks/bench-b/connect", body={"Container": "bench-target"})
            times.append(time.perf_counter() - t0)
            client.call("POST", "/networks/bench-b/disconnect", body={"Container": "bench-target"})
        result["net_user_connect_running_s"] = sorted(times)[len(times) // 2]
        pid = client.json("GET", "/containers/bench-target/json")["State"]["Pid"]
        queries = DNS_QUERIES // 4 if ctx.quick else DNS_QUERIES
        out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", DNS_CLIENT,
                              "bench-target", str(queries)], capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"{engine.name}: the DNS client failed: {out.stderr}")
        rate, answered = out.stdout.split()
        if int(answered) < queries * 0.99:
            raise RuntimeError(f"{engine.name}: only {answered} of {queries} DNS queries answered")
        result["net_dns_lookups_per_s"] = float(rate)
    finally:
        engine.docker("rm", "-f", "bench-target")
        for name in ("bench-a", "bench-b"):
            client.call("DELETE", f"/networks/{name}")
    return result


def measure(engine: Engine, ctx: BenchContext, mb: int, path: str) -> dict:
    reps = ctx.reps * 2
    count = 10 if ctx.quick else 30
    bridge = median_time(lambda: engine.docker("run", "--rm", "busybox", "true"), reps)
    none = median_time(lambda: engine.docker("run", "--rm", "--net=none", "busybox", "true"), reps)
    # the set-up per container, from many starts (one run's difference is mostly noise)
    start_bridge = min(start_many(engine, count, "bridge") for _ in range(max(1, ctx.reps // 2)))
    start_none = min(start_many(engine, count, "none") for _ in range(max(1, ctx.reps // 2)))
    return {"net_run_rm_bridge_s": bridge, "net_run_rm_none_s": none,
            "net_setup_per_container_s": max(start_bridge - start_none, 0.0) / count,
            f"net_start_{count}_bridge_s": start_bridge, f"net_start_{count}_none_s": start_none,
            f"net_{path}_get_{mb}mb_s": transfer(engine, mb, ctx.reps)}


def start_many(engine: Engine, count: int, mode: str) -> float:
    """Seconds to create and start `count` containers with --net=`mode` (API, one at a time)."""
    client = engine.client()
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": mode}}
    ids = []
    t0 = time.perf_counter()
    for _ in range(count):
        cid = client.json("POST", "/containers/create", body=body)["Id"]
        client.call("POST", f"/containers/{cid}/start", body={"NetworkMode": mode})
        ids.append(cid)
    elapsed = time.perf_counter() - t0
    for cid in ids:
        client.call("DELETE", f"/containers/{cid}", {"force": 1})
    return elapsed


def transfer(engine: Engine, mb: int, reps: int) -> float:
    """Median time to GET `mb` MiB from a container's httpd through 127.0.0.1:<published>."""
    port = free_port()
    cid = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:8080", "busybox",
                        *[a.format(mb=mb) for a in SERVE]).stdout.decode().strip()
    try:
        wait_serving(port)
        size = mb * 1024 * 1024
        return median_time(lambda: http_get(port, "/blob", size), reps)
    finally:
        engine.docker("rm", "-f", cid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            http_get(port, "/blob", None)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def http_get(port: int, path: str, expect: int | None) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n".encode())
        got, head = 0, b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the headers")
            head += chunk
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise ConnectionError(f"HTTP {status.decode()}")
        got = len(head.split(b"\r\n\r\n", 1)[1])
        buf = bytearray(1 << 20)
        while n := s.recv_into(buf):
            got += n
    if expect is not None and got != expect:
        raise ConnectionError(f"got {got} bytes, expected {expect}")
    return got


class PyctrNoProxy(Engine):
    """A pyctrd whose published ports are reached from 127.0.0.1 by DNAT."""
    name = "pyctr-dnat"

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.daemon = DaemonProcess(workdir, ["--shutdown-timeout", "2", "--log-level", "warning",
                                              "--userland-proxy=false"]).start()
        self.host, self.pid = self.daemon.host, self.daemon.proc.pid

    def stop(self) -> None:
        self.daemon.stop()


class PooledDocker(Docker):
    """A dockerd whose user-defined networks take their subnets from a pool of their own
    (the tests' harness picks a free one), without iptables: bridges it makes go with them."""
    name = "docker-pooled"

    def __init__(self, workdir: str) -> None:
        super().__init__(workdir, [*Docker.NETWORK_ARGS, "--default-address-pool", pick_address_pool()])


class BridgedDocker(Docker):
    """A dockerd on a bridge of its own (made here, removed after), no iptables."""
    name = "docker-bridged"

    def __init__(self, workdir: str) -> None:
        name, bip = pick_network()
        self.bridge = "pbd" + name[3:]
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        try:
            subprocess.run(["ip", "addr", "add", bip, "dev", self.bridge], check=True)
            subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
            super().__init__(workdir, [f"--bridge={self.bridge}", "--iptables=false", "--ip-masq=false",
                                       "--userland-proxy=true"])
        except BaseException:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            raise

    def stop(self) -> None:
        super().stop()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
