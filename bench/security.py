"""What confinement costs at start: a container with Docker's default seccomp profile
against one with `seccomp=unconfined`, on each engine.

    .venv/bin/python bench/run.py --only security

Starts alternate between the two modes (so both see the same machine load); the
figure is the median time of `POST /containers/(id)/start` (the engine's work from
request to a running process, without the CLI's own start-up), and of a whole
`docker run --rm` for comparison. `seccomp_cost_start_s` is the default profile's
median minus the unconfined one's, `seccomp_cost_start_paired_s` the median of the
differences of adjacent pairs: the issue asks that it stay within a few ms. pyctrd
compiles the profile once per daemon (the first start pays it; it is left out)."""

from __future__ import annotations

import statistics
import time

from engines import BenchContext, Engine

MODES = {"seccomp_default": [], "seccomp_unconfined": ["seccomp=unconfined"]}


def _start_once(engine: Engine, security_opt: list[str]) -> float:
    client = engine.client()
    body = {"Image": "busybox", "Cmd": ["true"], "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none", "SecurityOpt": security_opt}}
    cid = client.json("POST", "/containers/create", body=body)["Id"]
    try:
        t0 = time.perf_counter()
        client.call("POST", f"/containers/{cid}/start")
        elapsed = time.perf_counter() - t0
        client.call("POST", f"/containers/{cid}/wait")
        return elapsed
    finally:
        client.call("DELETE", f"/containers/{cid}", params={"force": "1"})


def _run_once(engine: Engine, security_opt: list[str]) -> float:
    args = ["run", "--rm", "--net=none"] + [a for opt in security_opt for a in ("--security-opt", opt)]
    t0 = time.perf_counter()
    engine.docker(*args, "busybox", "true")
    return time.perf_counter() - t0


def run(engine: Engine, ctx: BenchContext) -> dict:
    reps = 10 if ctx.quick else 60
    for opt in MODES.values():   # warm up: page cache, and pyctrd compiles its profile once
        _start_once(engine, opt)
    starts: dict[str, list[float]] = {mode: [] for mode in MODES}
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    for i in range(reps):
        for mode, opt in MODES.items():
            starts[mode].append(_start_once(engine, opt))
            if i % 4 == 0:
                runs[mode].append(_run_once(engine, opt))
    result = {}
    for mode in MODES:
        result[f"start_{mode}_s"] = statistics.median(starts[mode])
        result[f"run_rm_true_{mode}_s"] = statistics.median(runs[mode])
        result[f"start_{mode}_min_s"] = min(starts[mode])
    result["seccomp_cost_start_s"] = result["start_seccomp_default_s"] - result["start_seccomp_unconfined_s"]
    # each default start runs right before an unconfined one: the median of those pairs'
    # differences is the steadier figure on a loaded machine
    result["seccomp_cost_start_paired_s"] = statistics.median(
        a - b for a, b in zip(starts["seccomp_default"], starts["seccomp_unconfined"]))
    return result
