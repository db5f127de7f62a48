"""Streams: a container writing 1,000,000 lines read back through `logs` and live
through `attach`, and the events stream fanned out to 50 listeners."""

from __future__ import annotations

import selectors
import socket
import time

from engines import PYCTR_CLI, BenchContext, Engine, Pyctr, median_time

LISTENERS = 50


def run(engine: Engine, ctx: BenchContext) -> dict:
    lines = 200_000 if ctx.quick else 1_000_000
    reps = max(1, ctx.reps // 3)
    result: dict = {}
    result.update(bench_logs(engine, lines, reps))
    result.update(bench_attach(engine, lines, reps))
    result.update(bench_events(engine, 50 if ctx.quick else 200, reps))
    return result


def _expected_bytes(lines: int) -> int:
    return sum(len(str(i)) + 1 for i in range(1, lines + 1))


def bench_logs(engine: Engine, lines: int, reps: int) -> dict:
    client = engine.client()
    cid = engine.docker("run", "-d", "--net=none", "busybox", "seq", "1", str(lines)).stdout.decode().strip()
    client.wait(cid)
    want = _expected_bytes(lines) + 8 * lines   # every line in its own 8-byte framed entry

    def read_all() -> None:
        with client.logs(cid) as resp:
            got = sum(len(c) for c in resp.chunks())
        if got != want:
            raise RuntimeError(f"logs gave {got} bytes, expected {want}")

    key = f"logs_{lines // 1000}k_lines"
    result = {f"{key}_api_s": median_time(read_all, reps),
              f"{key}_docker_cli_s": median_time(lambda: engine.docker("logs", cid), reps)}
    if isinstance(engine, Pyctr):
        result[f"{key}_pyctr_cli_s"] = median_time(lambda: engine.cli(PYCTR_CLI, "logs", cid), reps)
    engine.docker("rm", cid)
    return result


def bench_attach(engine: Engine, lines: int, reps: int) -> dict:
    """From start to the last byte through an attached client (also logged meanwhile)."""
    client = engine.client()
    want = _expected_bytes(lines)

    def once() -> float:
        cid = engine.docker("create", "--net=none", "busybox", "seq", "1", str(lines)).stdout.decode().strip()
        stream = client.attach(cid, stdout=True, stderr=True)
        t0 = time.perf_counter()
        client.start(cid)
        got = 0
        while data := stream.read(1 << 20):
            got += len(data)
        elapsed = time.perf_counter() - t0
        stream.close()
        engine.docker("rm", "-f", cid)
        if got < want:
            raise RuntimeError(f"attach gave {got} bytes, expected at least {want}")
        return elapsed

    times = sorted(once() for _ in range(reps))
    result = {f"attach_{lines // 1000}k_lines_s": times[len(times) // 2]}
    run = ("run", "--rm", "--net=none", "busybox", "seq", "1", str(lines))
    result[f"run_{lines // 1000}k_lines_docker_cli_s"] = median_time(lambda: engine.docker(*run), reps)
    if isinstance(engine, Pyctr):
        result[f"run_{lines // 1000}k_lines_pyctr_cli_s"] = median_time(
            lambda: engine.cli(PYCTR_CLI, *run), reps)
    return result


def _open_listeners(engine: Engine, count: int) -> list[socket.socket]:
    path = engine.host.removeprefix("unix://")
    socks = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(b"GET /v1.14/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        socks.append(sock)
    for sock in socks:   # the response head: the listener is subscribed
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
    return socks


def bench_events(engine: Engine, count: int, reps: int) -> dict:
    """`count` tag/untag pairs while LISTENERS clients follow /events: from the first
    request until every listener has every untag."""
    client = engine.client()
    marker = b'"status":"untag"'

    def once() -> float:
        socks = _open_listeners(engine, LISTENERS)
        try:
            seen = {s: 0 for s in socks}
            tails = {s: b"" for s in socks}
            selector = selectors.DefaultSelector()
            for s in socks:
                s.setblocking(False)
                selector.register(s, selectors.EVENT_READ)
            t0 = time.perf_counter()
            for i in range(count):
                client.tag("busybox", "bench/events", str(i))
                client.remove_image(f"bench/events:{i}")
            deadline = time.monotonic() + 120
            while any(n < count for n in seen.values()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"listeners saw {sorted(seen.values())[:3]}... of {count}")
                for key, _ in selector.select(1):
                    data = tails[key.fileobj] + key.fileobj.recv(1 << 20)
                    seen[key.fileobj] += data.count(marker)
                    tails[key.fileobj] = data[-len(marker):]   # a marker split across reads
                    if marker in tails[key.fileobj]:
                        tails[key.fileobj] = b""
            elapsed = time.perf_counter() - t0
            selector.close()
            return elapsed
        finally:
            for s in socks:
                s.close()

    times = sorted(once() for _ in range(reps))
    return {f"events_{count}x2_to_{LISTENERS}_listeners_s": times[len(times) // 2]}

