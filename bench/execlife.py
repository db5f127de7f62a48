"""Exec and the container's life: an exec's round trip (create, start, every byte back)
with and without a TTY through docker-py, `docker exec` through the CLI, and a chatty
container logging through json-file with rotation (max-size 1m, 3 files, compressed)."""

from __future__ import annotations

import docker as docker_py

from engines import BenchContext, Engine, median_time


def run(engine: Engine, ctx: BenchContext) -> dict:
    reps = ctx.reps
    client = docker_py.APIClient(base_url=engine.host)
    cid = engine.docker("run", "-d", "--net=none", "busybox", "sleep", "1000").stdout.decode().strip()
    result: dict = {}
    try:
        for tty in (False, True):
            def once() -> None:
                exec_id = client.exec_create(cid, ["echo", "hello"], tty=tty)
                out = client.exec_start(exec_id, tty=tty)
                if out.rstrip() != b"hello":
                    raise RuntimeError(f"exec gave {out!r}")
            result[f"exec_roundtrip{'_tty' if tty else ''}_s"] = median_time(once, reps)
        result["exec_docker_cli_s"] = median_time(lambda: engine.docker("exec", cid, "true"), reps)
    finally:
        engine.docker("rm", "-f", cid)
    lines = 100_000 if ctx.quick else 500_000

    def rotated_run() -> None:
        out = engine.docker("run", "--net=none", "--log-opt", "max-size=1m", "--log-opt", "max-file=3",
                            "--log-opt", "compress=true", "-d", "busybox", "seq", "1", str(lines))
        name = out.stdout.decode().strip()
        client.wait(name)
        tail = engine.docker("logs", "--tail", "1", name).stdout
        if tail != b"%d\n" % lines:
            raise RuntimeError(f"last logged line {tail!r}")
        engine.docker("rm", name)
    result[f"log_rotated_{lines // 1000}k_lines_s"] = median_time(rotated_run, max(1, reps // 3))
    return result
