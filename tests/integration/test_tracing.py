"""The span log (engine/tracing.py): with PYCTR_TRACE_SPANS a daemon writes where the
time of a `docker run` went, from the create request to the destroy event."""

from __future__ import annotations

import json
import subprocess
import sys

from harness import start_with_busybox


def test_a_traced_run_shows_each_step(tmp_path, busybox_tar, monkeypatch):
    trace = tmp_path / "spans.jsonl"
    monkeypatch.setenv("PYCTR_TRACE_SPANS", str(trace))
    d = start_with_busybox(str(tmp_path / "d"), busybox_tar)
    try:
        d.docker("run", "--rm", "--net=none", "busybox", "true")
    finally:
        d.stop()
        left = d.leftovers()
        d.cleanup_by_force()
    assert not left, left
    spans = [json.loads(line) for line in trace.read_text().splitlines()]
    assert all(set(s) >= {"t", "ms", "name", "task"} for s in spans)
    names = [s["name"] for s in spans]
    for step in ("http", "job", "create: layers", "start: mount rootfs", "execdriver: run",
                 "execdriver: process created", "execdriver: exited", "exit: unmount rootfs",
                 "rm: layers", "db save_container"):
        assert step in names, step
    jobs = [s["job"] for s in spans if s["name"] == "job"]
    assert {"container_create", "container_start", "container_wait"} <= set(jobs)
    events = [s["action"] for s in spans if s["name"] == "event"]
    assert events[-4:] == ["create", "start", "die", "destroy"]
    # in order: the process is created after the run began, and exits after that
    at = {s["name"]: s["t"] for s in spans}
    assert at["execdriver: run"] <= at["execdriver: process created"] <= at["execdriver: exited"]


def test_no_span_log_without_the_variable(tmp_path):
    """Off by default: spans and marks write nothing and open no file."""
    probe = ("import os, sys; os.environ.pop('PYCTR_TRACE_SPANS', None)\n"
             "from pyctr.engine import tracing\n"
             "with tracing.span('x'): pass\n"
             "tracing.mark('y')\n"
             "print(tracing.ENABLED, tracing._out)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "None"]
    assert list(tmp_path.iterdir()) == []
