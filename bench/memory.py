"""Resident memory of the engine itself (not its containers' processes), idle and with
N running containers, with live restore off and on, against dockerd in the same run.

pyctr: pyctrd plus its keeper (which outlives it by design); dockerd: dockerd, its
containerd and the containerd shims (engines.rss_kib). Each figure is the median of
three samples a moment apart, after a full `ps` has touched every container.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from engines import BenchContext, Docker, Engine, Pyctr, import_busybox, running_sleepers
from harness import DaemonProcess


class PyctrLiveRestore(Pyctr):
    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.daemon = DaemonProcess(workdir, ["--shutdown-timeout", "2", "--log-level", "warning",
                                              "--live-restore"]).start()
        self.host = self.daemon.host
        self.pid = self.daemon.proc.pid


class DockerLiveRestore(Docker):
    def __init__(self, workdir: str) -> None:
        super().__init__(workdir, [*Docker.NETWORK_ARGS, "--live-restore"])


def _sampled(engine: Engine) -> int:
    samples = []
    for _ in range(3):
        samples.append(engine.memory_kib())
        time.sleep(0.2)   # a moment apart: the figure of a settled engine, not of one request
    return int(statistics.median(samples))


def measure(engine: Engine, ctx: BenchContext, count: int) -> tuple[int, int]:
    import_busybox(engine, ctx.busybox)
    client = engine.client()
    client.json("GET", "/containers/json", {"all": 1})
    idle = _sampled(engine)
    with running_sleepers(client, count):
        client.json("GET", "/containers/json", {"all": 1})
        busy = _sampled(engine)
    return idle, busy


def run(engine: Engine, ctx: BenchContext) -> dict:
    count = 50 if ctx.quick else 100
    live = PyctrLiveRestore if isinstance(engine, Pyctr) else DockerLiveRestore
    result = {}
    for label, cls in (("", type(engine)), ("_live_restore", live)):
        other = cls(tempfile.mkdtemp(prefix=f"mem-{engine.name}-", dir=ctx.workdir))
        try:
            idle, busy = measure(other, ctx, count)
        finally:
            other.stop()
        result[f"rss_idle{label}_kib"] = idle
        result[f"rss_with_{count}_running{label}_kib"] = busy
    return result
