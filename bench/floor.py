"""The floors of `docker run --rm --net=none busybox true`: what no engine can go below.

- `docker version` through the CLI against the engine: the CLI's own start and round
  trip, which every `docker run` pays too (both engines);
- `runc run` of a busybox bundle (namespaces, cgroups, pivot_root, no network; Debian's
  runc, the runtime under dockerd), measured once, beside pyctr's figures.

pyctrd's share of a run is `run_rm_true_docker_cli_s - docker_version_cli_s` (core.py
measures the run); the issue's goal is that share within 2x of `runc_run_true_s`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid

from engines import BenchContext, Engine, Pyctr, median_time
from rootfs import make_busybox_rootfs


def _bundle(workdir: str) -> str:
    bundle = tempfile.mkdtemp(prefix="runc-bundle-", dir=workdir)
    make_busybox_rootfs(os.path.join(bundle, "rootfs"))
    subprocess.run(["runc", "spec"], cwd=bundle, check=True, capture_output=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["true"]
    # Its own network namespace with only lo, as --net=none (runc spec's default list has it).
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    return bundle


def bench_runc(workdir: str, reps: int) -> float:
    bundle = _bundle(workdir)
    root = os.path.join(bundle, "state")   # runc's own state dir: nothing shared with the host's
    try:
        def once() -> None:
            subprocess.run(["runc", "--root", root, "run", "--bundle", bundle, "bench-" + uuid.uuid4().hex[:12]],
                           check=True, capture_output=True, stdin=subprocess.DEVNULL)
        once()   # warm: page cache, runc's first start
        return median_time(once, reps)
    finally:
        shutil.rmtree(bundle, ignore_errors=True)


def run(engine: Engine, ctx: BenchContext) -> dict:
    reps = ctx.reps * 2
    engine.docker("version")
    result = {"docker_version_cli_s": median_time(lambda: engine.docker("version"), reps)}
    if isinstance(engine, Pyctr) and shutil.which("runc"):
        result["runc_run_true_s"] = bench_runc(ctx.workdir, reps)
    return result
