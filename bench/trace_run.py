"""Where the milliseconds of one `docker run --rm --net=none busybox true` go.

    .venv/bin/python bench/trace_run.py [--runs N]

Starts a pyctrd of its own with PYCTR_TRACE_SPANS (engine/tracing.py), runs the
command through the docker CLI (one warm-up run first), and prints each span of the
last run from the create request to the `destroy` event: when it began (ms after
the create request arrived), how long it took, and what it was. Then the sum per
kind and the DB writes of the run. Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from engines import busybox_tar  # noqa: E402
from harness import start_with_busybox  # noqa: E402

RUN = ("run", "--rm", "--net=none", "busybox", "true")


def load(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_run(spans: list[dict]) -> list[dict]:
    """The spans from the last `POST /containers/create` request to the last `destroy`."""
    creates = [s for s in spans if s["name"] == "http" and s.get("method") == "POST"
               and s.get("path", "").endswith("/containers/create")]
    if not creates:
        raise SystemExit("no create request in the trace")
    t0 = creates[-1]["t"]
    return sorted((s for s in spans if s["t"] >= t0), key=lambda s: s["t"])


def describe(span: dict) -> str:
    extra = {k: v for k, v in span.items() if k not in ("t", "ms", "name", "task")}
    return span["name"] + (" " + " ".join(f"{k}={v}" for k, v in extra.items()) if extra else "")


def table(spans: list[dict]) -> str:
    t0 = spans[0]["t"]
    lines = [f"{'at ms':>8} {'ms':>8}  span"]
    for span in spans:
        lines.append(f"{(span['t'] - t0) * 1000:8.1f} {span['ms']:8.1f}  {describe(span)}")
    end = max(s["t"] + s["ms"] / 1000 for s in spans)
    lines.append(f"total from the create request to the last span: {(end - t0) * 1000:.1f} ms")
    db = [s for s in spans if s["name"].startswith("db ")]
    lines.append(f"DB writes: {len(db)}, {sum(s['ms'] for s in db):.1f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs before the traced one's table")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pyctr-trace-")
    trace = os.path.join(work, "spans.jsonl")
    os.environ["PYCTR_TRACE_SPANS"] = trace
    daemon = None
    try:
        daemon = start_with_busybox(os.path.join(work, "d"), busybox_tar(work))
        walls = []
        for _ in range(max(1, args.runs)):
            t0 = time.perf_counter()
            daemon.docker(*RUN)
            walls.append(time.perf_counter() - t0)
        print(f"docker {' '.join(RUN)}: {', '.join(f'{w * 1000:.0f}' for w in walls)} ms (CLI wall time)")
        print(table(last_run(load(trace))))
    finally:
        os.environ.pop("PYCTR_TRACE_SPANS", None)
        if daemon is not None:
            daemon.stop()
            daemon.cleanup_by_force()
        subprocess.run(["umount", "-R", "-l", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
