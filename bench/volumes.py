"""Volumes (issue 21): the time of `docker volume create` + `rm`, of a `run --rm` with a
named volume, and of a run whose new volume is seeded from the image (copy-up of
`files` small files and their owners), through the docker CLI against each engine."""

from __future__ import annotations

import itertools

from engines import Engine, median_time

_names = itertools.count()


def run(engine: Engine, ctx) -> dict:
    files = 200 if ctx.quick else 2000
    engine.docker("run", "--name", "bench-vol-prep", "--network", "none", "busybox", "sh", "-c",
                  f"mkdir /data && cd /data && i=0; while [ $i -lt {files} ]; do echo $i > f$i; "
                  "i=$((i+1)); done; chown -R 1:1 /data")
    engine.docker("commit", "bench-vol-prep", "bench-vol-image")
    engine.docker("rm", "bench-vol-prep")
    engine.docker("volume", "create", "bench-vol")

    def create_and_remove():
        name = f"bench-v{next(_names)}"
        engine.docker("volume", "create", name)
        engine.docker("volume", "rm", name)

    def run_named():
        engine.docker("run", "--rm", "--network", "none", "-v", "bench-vol:/d", "busybox", "true")

    def run_seeded():
        name = f"bench-seed{next(_names)}"
        engine.docker("run", "--rm", "--network", "none", "-v", f"{name}:/data", "bench-vol-image", "true")
        engine.docker("volume", "rm", name)

    try:
        return {"volume_create_rm_s": median_time(create_and_remove, ctx.reps),
                "run_with_named_volume_s": median_time(run_named, ctx.reps),
                f"run_copy_up_{files}_files_s": median_time(run_seeded, ctx.reps)}
    finally:
        engine.docker("volume", "rm", "bench-vol")
        engine.docker("rmi", "bench-vol-image")
