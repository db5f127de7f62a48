"""Registry benchmarks: pull (cold) of a ~230 MB, ~9,000-file single-layer image and of a
10-layer image from a local registry (Debian's docker-registry on 127.0.0.1), and push of
the same to an empty registry. Both engines use the docker CLI; loopback registries are
plain HTTP for both (dockerd allows 127.0.0.0/8 as insecure by default).

The images are made once per run: files half random, half text (so gzip has work to do,
as with real images), gzipped, and put into each engine's source registry over HTTP."""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import random
import sys
import tarfile
import time

from engines import HERE, BenchContext, Engine



def _load(name: str):
    """A helper module of tests/registry, loaded by path: this module is itself named
    `registry`, so the tests' package of that name cannot be imported as usual."""
    path = os.path.join(HERE, "..", "tests", "registry", name + ".py")
    spec = importlib.util.spec_from_file_location(f"pyctr_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_images = _load("images")
Layer, RegistryHTTP, make_config, sha = _images.Layer, _images.RegistryHTTP, _images.make_config, _images.sha
RegistryProcess = _load("regserver").RegistryProcess

try:
    from isal import igzip as _gzip
except ImportError:
    _gzip = gzip


def _content(rng: random.Random, size: int) -> bytes:
    half = size // 2
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
    return rng.randbytes(half) + (words * (size // len(words) + 1))[: size - half]


def _layer_tar(path: str, rng: random.Random, files: int, total: int, prefix: str) -> None:
    """`files` files summing to ~`total` bytes: many small ones and a few big ones, as in a
    distribution image."""
    big = max(1, files // 45)
    small_total = total * 45 // 100
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(files):
            if i < big:
                size = (total - small_total) // big
            else:
                size = max(64, int(rng.expovariate(1 / (small_total / (files - big)))))
            info = tarfile.TarInfo(f"{prefix}/d{i % 61}/s{i % 7}/f{i}")
            info.size, info.mode, info.mtime = size, 0o644, 1_600_000_000
            tar.addfile(info, io.BytesIO(_content(rng, size)))


def _make_layer(workdir: str, name: str, files: int, total: int, seed: int) -> Layer:
    tar_path = os.path.join(workdir, name + ".tar")
    gz_path = tar_path + ".gz"
    if not os.path.exists(gz_path):
        _layer_tar(tar_path, random.Random(seed), files, total, name)
        with open(tar_path, "rb") as src, _gzip.open(gz_path + ".tmp", "wb", compresslevel=1) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.replace(gz_path + ".tmp", gz_path)
        with open(tar_path, "rb") as f:
            open(gz_path + ".diffid", "w").write(sha(f.read()))
        os.unlink(tar_path)
    with open(gz_path, "rb") as f:
        return Layer(f.read(), open(gz_path + ".diffid").read())


def images(ctx: BenchContext) -> dict[str, list[Layer]]:
    work = os.path.join(ctx.workdir, "registry-images")
    os.makedirs(work, exist_ok=True)
    scale = 10 if ctx.quick else 1
    big = [_make_layer(work, "big", 9000 // scale, (230 << 20) // scale, 1)]
    ten = [_make_layer(work, f"ten{i}", 900 // scale, (23 << 20) // scale, 100 + i) for i in range(10)]
    return {"big": big, "ten": ten}


def _seed(registry: RegistryProcess, layers: dict[str, list[Layer]]) -> None:
    http = RegistryHTTP(registry.address)
    for repo, blobs in layers.items():
        http.put_image(f"bench/{repo}", "1", blobs, make_config(blobs, cmd=["sh"]))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(engine: Engine, ctx: BenchContext) -> dict:
    layers = images(ctx)
    label = "23mb" if ctx.quick else "230mb"
    reps = 1 if ctx.quick else 3
    work = os.path.join(engine.workdir, "bench-registries")
    source = RegistryProcess(os.path.join(work, "source")).start()
    result: dict = {}
    try:
        _seed(source, layers)
        for repo, key in (("big", f"pull_{label}_1_layer_s"), ("ten", "pull_10_layers_s")):
            name = f"{source.address}/bench/{repo}:1"
            times = []
            for _ in range(reps):
                times.append(_timed(lambda: engine.docker("pull", name)))
                engine.docker("rmi", name)
            result[key] = sorted(times)[len(times) // 2]
        for repo, key in (("big", f"push_{label}_1_layer_s"), ("ten", "push_10_layers_s")):
            engine.docker("pull", f"{source.address}/bench/{repo}:1")
            times = []
            for i in range(reps):
                target = RegistryProcess(os.path.join(work, f"target-{repo}-{i}")).start()
                try:
                    name = f"{target.address}/bench/{repo}:1"
                    engine.docker("tag", f"{source.address}/bench/{repo}:1", name)
                    times.append(_timed(lambda: engine.docker("push", name)))
                    engine.docker("rmi", name)
                finally:
                    target.stop()
            engine.docker("rmi", f"{source.address}/bench/{repo}:1")
            result[key] = sorted(times)[len(times) // 2]
    finally:
        source.stop()
    return result
