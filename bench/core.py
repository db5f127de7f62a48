"""Benchmarks of the engine core and containers: import, images, run, many containers."""

from __future__ import annotations

import os
import random
import io
import tarfile
import time

from engines import PYCTR_CLI, BenchContext, Engine, Pyctr, median_time


def make_big_tarball(path: str, total_mb: int = 100, files: int = 8000) -> None:
    """~total_mb of incompressible data in `files` files across a directory tree."""
    rng = random.Random(1234)
    size = total_mb * 1024 * 1024 // files
    with tarfile.open(path, "w") as tar:
        for i in range(files):
            data = rng.randbytes(size)
            info = tarfile.TarInfo(f"d{i % 97}/s{i % 13}/f{i}.bin")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))



def run(engine: Engine, ctx: BenchContext) -> dict:
    big = os.path.join(ctx.workdir, "big.tar")
    if not os.path.exists(big):
        make_big_tarball(big, 20 if ctx.quick else 100, 1600 if ctx.quick else 8000)
    count = 50 if ctx.quick else 100
    result = {"idle_rss_kib": engine.memory_kib()}
    result.update(bench_import(engine, big, max(1, ctx.reps // 3)))
    result.update(bench_images(engine, ctx.busybox, 50 if ctx.quick else 200, ctx.reps))
    result.update(bench_run(engine, ctx.reps * 2))
    result.update(bench_many(engine, count, ctx.reps))
    return result


def bench_import(engine: Engine, big_tar: str, reps: int) -> dict:
    def once():
        with open(big_tar, "rb") as f:
            out = engine.docker("import", "-", "bench/big:1", stdin=f).stdout.decode().strip()
        engine.docker("rmi", "bench/big:1")
        return out
    return {"import_100mb_s": median_time(once, reps)}


def bench_images(engine: Engine, tiny_tar: str, count: int, reps: int) -> dict:
    with open(tiny_tar, "rb") as f:
        data = f.read()
    for i in range(count):
        with engine.client().import_image("-", repo="bench/many", tag=str(i), body=data) as r:
            r.read()
    result = {f"images_{count}_docker_cli_s": median_time(lambda: engine.docker("images"), reps)}
    if isinstance(engine, Pyctr):
        result[f"images_{count}_pyctr_cli_s"] = median_time(lambda: engine.cli(PYCTR_CLI, "images"), reps)
    for i in range(count):
        engine.client().remove_image(f"bench/many:{i}")
    return result


def bench_run(engine: Engine, reps: int) -> dict:
    args = ("run", "--rm", "--net=none", "busybox", "true")
    result = {"run_rm_true_docker_cli_s": median_time(lambda: engine.docker(*args), reps)}
    if isinstance(engine, Pyctr):
        result["run_rm_true_pyctr_cli_s"] = median_time(lambda: engine.cli(PYCTR_CLI, *args), reps)
    return result


def bench_many(engine: Engine, count: int, reps: int) -> dict:
    client = engine.client()
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none"}}
    t0 = time.perf_counter()
    ids = []
    for _ in range(count):
        cid = client.json("POST", "/containers/create", body=body)["Id"]
        client.call("POST", f"/containers/{cid}/start")
        ids.append(cid)
    create_start = time.perf_counter() - t0
    rss = engine.memory_kib()
    ps = median_time(lambda: engine.docker("ps", "-a"), reps)
    ps_api = median_time(lambda: client.json("GET", "/containers/json", {"all": 1}), reps)
    for cid in ids:
        client.call("DELETE", f"/containers/{cid}", {"force": 1})
    return {f"create_start_{count}_s": create_start, f"ps_a_{count}_docker_cli_s": ps,
            f"ps_a_{count}_api_s": ps_api, f"engine_rss_with_{count}_running_kib": rss}


