"""The API under load, against dockerd in the same run.

With N running containers (100; 50 with --quick):
- `GET /containers/json?all=1`, R requests (1000) with 50 in flight over the unix
  socket (one aiohttp client, the same for both engines): requests/s, p50 and p99;
- `docker ps -a` through the docker CLI: min, median and max of the repetitions.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from engines import BenchContext, Engine, running_sleepers


async def _hammer(socket_path: str, requests: int, in_flight: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(requests))
    connector = aiohttp.UnixConnector(path=socket_path, limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            for _ in queue:
                t0 = time.perf_counter()
                async with session.get("http://bench/v1.41/containers/json", params={"all": "1"}) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"GET /containers/json: {r.status}")
                latencies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return time.perf_counter() - t0, latencies


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_list_load(engine: Engine, requests: int, in_flight: int, reps: int) -> dict:
    path = engine.host[len("unix://"):]
    asyncio.run(_hammer(path, in_flight * 2, in_flight))   # warm: connections, caches
    rates, p50s, p99s = [], [], []
    for _ in range(reps):
        elapsed, latencies = asyncio.run(_hammer(path, requests, in_flight))
        rates.append(requests / elapsed)
        p50s.append(_percentile(latencies, 50))
        p99s.append(_percentile(latencies, 99))
    # The median run by rate, and the spread of each figure over the runs.
    return {"containers_json_per_s": int(statistics.median(rates)),
            "containers_json_per_s_min": int(min(rates)), "containers_json_per_s_max": int(max(rates)),
            "containers_json_p50_s": statistics.median(p50s),
            "containers_json_p99_s": statistics.median(p99s),
            "containers_json_p99_max_s": max(p99s)}


def run(engine: Engine, ctx: BenchContext) -> dict:
    count = 50 if ctx.quick else 100
    with running_sleepers(engine.client(), count):
        result = bench_list_load(engine, 300 if ctx.quick else 1000, 50, 2 if ctx.quick else 3)
        times = []
        for _ in range(ctx.reps):
            t0 = time.perf_counter()
            engine.docker("ps", "-a")
            times.append(time.perf_counter() - t0)
        result.update({f"ps_a_{count}_cli_s": statistics.median(times), f"ps_a_{count}_cli_min_s": min(times),
                       f"ps_a_{count}_cli_max_s": max(times)})
        return result
