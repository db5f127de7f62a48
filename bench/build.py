"""Builder and image transport: a 10-step Dockerfile and a multi-stage one (args through
stages, COPY --from into a scratch image, labels, a healthcheck) built cold (--no-cache)
and fully cached, and save/load of a big single-layer image (230 MB made by import; 40 MB with
--quick). Both engines are driven by the same real docker CLI; dockerd builds with its
legacy builder (DOCKER_BUILDKIT=0), the one that matches Docker 1.2's steps."""

from __future__ import annotations

import os
import subprocess

from core import make_big_tarball
from engines import DOCKER_CLI, PYCTR_CLI, BenchContext, Engine, Pyctr, median_time

DOCKERFILE = """\
FROM busybox
ENV APP /app
RUN mkdir -p $APP && echo one > $APP/one
COPY files $APP/files
ADD data.bin $APP/
RUN cat $APP/files/* > $APP/all && wc -c $APP/data.bin
WORKDIR /app
EXPOSE 8080
VOLUME ["/data"]
CMD ["cat", "/app/all"]
"""


MULTISTAGE = """\
ARG VERSION=1.0
FROM busybox AS tools
ARG VERSION
WORKDIR /src
COPY files/ ./
RUN mkdir -p /out && cat f*.txt | sed "s/file/v$VERSION/" > /out/all && wc -l /out/all
FROM tools AS check
RUN grep -q v /out/all
FROM scratch
ARG VERSION
LABEL version=$VERSION
COPY --from=tools /bin/busybox /bin/busybox
COPY --from=tools /out/all /data/all
ENV MODE=prod
HEALTHCHECK --interval=30s CMD ["/bin/busybox", "true"]
CMD ["/bin/busybox", "cat", "/data/all"]
"""


def _context(workdir: str) -> str:
    ctx = os.path.join(workdir, "build-context")
    if not os.path.isdir(ctx):
        os.makedirs(os.path.join(ctx, "files"))
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write(DOCKERFILE)
        with open(os.path.join(ctx, "Dockerfile.multistage"), "w") as f:
            f.write(MULTISTAGE)
        for i in range(50):
            with open(os.path.join(ctx, "files", f"f{i}.txt"), "w") as f:
                f.write(f"file {i}\n" * 100)
        with open(os.path.join(ctx, "data.bin"), "wb") as f:
            f.write(os.urandom(2 << 20))
    return ctx


def _docker(engine: Engine, *args: str) -> subprocess.CompletedProcess:
    env = {**engine.env(), "DOCKER_BUILDKIT": "0"}
    result = subprocess.run([DOCKER_CLI, *args], capture_output=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.decode()}")
    return result


def run(engine: Engine, ctx: BenchContext) -> dict:
    result = bench_build(engine, ctx)
    result.update(bench_save_load(engine, ctx))
    return result


def bench_build(engine: Engine, ctx: BenchContext) -> dict:
    context = _context(ctx.workdir)
    reps = max(3, ctx.reps // 2)
    # dockerd runs without a bridge here: its RUN steps need --network=none
    net = ["--network=none"] if engine.name == "docker" else []

    def cold():
        _docker(engine, "build", "--no-cache", *net, "-t", "bench/build", context)

    def cached():
        out = _docker(engine, "build", *net, "-t", "bench/build", context).stdout.decode()
        assert "Running in" not in out, out

    def multi_cold():
        _docker(engine, "build", "--no-cache", *net, "-f", os.path.join(context, "Dockerfile.multistage"),
                "--build-arg", "VERSION=2", "-t", "bench/multi", context)

    def multi_cached():
        out = _docker(engine, "build", *net, "-f", os.path.join(context, "Dockerfile.multistage"),
                      "--build-arg", "VERSION=2", "-t", "bench/multi", context).stdout.decode()
        assert "Running in" not in out, out

    result = {"build_10_steps_cold_s": median_time(cold, reps),
              "build_10_steps_cached_s": median_time(cached, reps),
              "build_multistage_cold_s": median_time(multi_cold, reps),
              "build_multistage_cached_s": median_time(multi_cached, reps)}
    if isinstance(engine, Pyctr):
        result["build_10_steps_cached_pyctr_cli_s"] = median_time(
            lambda: engine.cli(PYCTR_CLI, "build", "-t", "bench/build", context), reps)
    _docker(engine, "rmi", "bench/build")
    _docker(engine, "rmi", "bench/multi")
    return result


def bench_save_load(engine: Engine, ctx: BenchContext) -> dict:
    size = 40 if ctx.quick else 230
    big = os.path.join(ctx.workdir, f"big-{size}.tar")
    if not os.path.exists(big):
        make_big_tarball(big, size, 2000 if ctx.quick else 9000)
    with open(big, "rb") as f:
        engine.docker("import", "-", "bench/big:1", stdin=f)
    saved = os.path.join(ctx.workdir, f"saved-{engine.name}.tar")
    reps = max(2, ctx.reps // 3)

    def save():
        _docker(engine, "save", "-o", saved, "bench/big:1")

    def load():
        _docker(engine, "rmi", "bench/big:1")
        _docker(engine, "load", "-i", saved)

    result = {f"save_{size}mb_s": median_time(save, reps), f"load_{size}mb_s": median_time(load, reps)}
    _docker(engine, "rmi", "bench/big:1")
    os.unlink(saved)
    return result
