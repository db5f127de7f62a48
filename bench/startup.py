"""Daemon start and stop, against dockerd in the same run.

- start: from exec to the first answered `/_ping` (each engine on a fresh data root,
  polled every 2 ms over a raw unix socket, the same poller for both). pyctrd twice:
  as this environment runs it (PYTHONDONTWRITEBYTECODE=1 here, so every module is
  compiled at every start) and with its bytecode cached (PYTHONPYCACHEPREFIX, as an
  installed package has it);
- stop with no containers: SIGTERM to exit;
- stop with N running containers (live restore off, both): SIGTERM to exit, the
  containers' processes honouring SIGTERM (a trap), so the figure is the engine's
  own work of stopping, unmounting and recording them, not a kill timeout.

Each figure: min, median and max of the repetitions (`<name>_s` is the median).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from engines import BenchContext, Docker, Engine, Pyctr, import_busybox
from harness import pick_network, remove_network

POLL = 0.002
# A container that ends at once on SIGTERM (busybox sh runs the trap when `wait` returns).
TRAPPING = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]


def _pinged(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: bench\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _start_and_stop(argv: list[str], sock: str, env: dict | None = None, log: str = "") -> tuple[float, float]:
    """(exec to first answered ping, SIGTERM to exit) of one daemon run."""
    out = open(log or os.devnull, "ab")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = t0 + 60
        while not _pinged(sock):
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"{argv[0]} did not start (see {log or 'its output'})")
            time.sleep(POLL)
        started = time.perf_counter() - t0
        # What a client does next (docker ps): the stop then also covers a complete opening.
        _wait_listing(sock)
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        return started, time.perf_counter() - t1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()


def _wait_listing(sock: str) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(60)
        s.connect(sock)
        s.sendall(b"GET /containers/json HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        while s.recv(65536):
            pass


def _pyctr_argv(work: str, bridge: str, bip: str) -> list[str]:
    return [sys.executable, "-m", "pyctr.engine.main", "-H", f"unix://{work}/pyctr.sock",
            "-g", f"{work}/root", "--exec-root", f"{work}/exec", "--bridge", bridge, "--bip", bip,
            "--default-registry", "none", "--live-restore=false", "--log-level", "warning"]


def _docker_argv(work: str) -> list[str]:
    return ["dockerd", "-H", f"unix://{work}/docker.sock", "--data-root", f"{work}/root",
            "--exec-root", f"{work}/exec", "--pidfile", f"{work}/dockerd.pid",
            *Docker.NETWORK_ARGS, "--storage-driver", "overlay2"]


def spread(prefix: str, values: list[float]) -> dict:
    return {f"{prefix}_s": statistics.median(values), f"{prefix}_min_s": min(values),
            f"{prefix}_max_s": max(values)}


def bench_start_stop(engine: Engine, ctx: BenchContext, reps: int) -> dict:
    base = tempfile.mkdtemp(prefix=f"start-{engine.name}-", dir=ctx.workdir)
    result: dict = {}
    try:
        variants = [("", None)]
        if isinstance(engine, Pyctr):
            cache = os.path.join(base, "pycache")
            cached_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            cached_env["PYTHONPYCACHEPREFIX"] = cache
            variants.append(("_bytecode_cached", cached_env))
        for suffix, env in variants:
            starts, stops = [], []
            for i in range(reps + (1 if env else 0)):   # the first cached run writes the cache
                work = os.path.join(base, f"{suffix or 'plain'}-{i}")
                os.makedirs(work)
                if isinstance(engine, Pyctr):
                    bridge, bip = pick_network()
                    try:
                        start, stop = _start_and_stop(_pyctr_argv(work, bridge, bip), f"{work}/pyctr.sock",
                                                      env, f"{work}/log")
                    finally:
                        remove_network(bridge)
                else:
                    try:
                        start, stop = _start_and_stop(_docker_argv(work), f"{work}/docker.sock", None,
                                                      f"{work}/log")
                    finally:
                        _umount_under(work)
                if env and i == 0:
                    continue
                starts.append(start)
                stops.append(stop)
            result.update(spread(f"daemon_start_to_ping{suffix}", starts))
            result.update(spread(f"daemon_stop_empty{suffix}", stops))
    finally:
        _umount_under(base)
        shutil.rmtree(base, ignore_errors=True)
    return result


def _umount_under(path: str) -> None:
    root = os.path.realpath(path) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if line.split()[4].startswith(root)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def bench_stop_with_running(engine: Engine, ctx: BenchContext, count: int, reps: int) -> dict:
    """SIGTERM to exit of an engine with `count` running containers (live restore off)."""
    times = []
    for i in range(reps):
        work = tempfile.mkdtemp(prefix=f"stop-{engine.name}-", dir=ctx.workdir)
        other = type(engine)(work)
        try:
            import_busybox(other, ctx.busybox)
            client = other.client()
            body = {"Image": "busybox", "Cmd": TRAPPING, "NetworkDisabled": True,
                    "HostConfig": {"NetworkMode": "none"}}
            for _ in range(count):
                cid = client.json("POST", "/containers/create", body=body)["Id"]
                client.call("POST", f"/containers/{cid}/start")
            proc = other.daemon.proc if isinstance(other, Pyctr) else other.proc
            t0 = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
            times.append(time.perf_counter() - t0)
        finally:
            other.stop()
            _umount_under(work)
            shutil.rmtree(work, ignore_errors=True)
    return spread(f"daemon_stop_with_{count}_running", times)


def run(engine: Engine, ctx: BenchContext) -> dict:
    reps = 3 if ctx.quick else 7
    result = bench_start_stop(engine, ctx, reps)
    result.update(bench_stop_with_running(engine, ctx, 100, 1 if ctx.quick else 3))
    return result
