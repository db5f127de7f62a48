"""Spans: where the milliseconds of a request go, for the speed work.

Off unless pyctrd runs with PYCTR_TRACE_SPANS=<file>: then every span (an HTTP
request, a job, a DB write, a step of a start) and every mark (an event) is appended
to that file as one JSON line: {"t": start (unix seconds), "ms": duration, "name",
"task": the asyncio task it ran in, and its attributes}. bench/trace_run.py reads it
back as the table of one `docker run`. Off, a span costs one attribute check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from typing import Iterator

_path = os.environ.get("PYCTR_TRACE_SPANS", "")
_out = None
ENABLED = bool(_path)


def _write(entry: dict) -> None:
    global _out
    if _out is None:
        _out = open(_path, "a", buffering=1)   # a line each: a crash loses nothing
    _out.write(json.dumps(entry) + "\n")


def _task() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "thread"
    return task.get_name() if task is not None else "loop"


@contextlib.contextmanager
def span(name: str, **attributes: object) -> Iterator[None]:
    """Time the block (sync or inside a coroutine) as one span named `name`."""
    if not ENABLED:
        yield
        return
    wall, t0 = time.time(), time.perf_counter()
    try:
        yield
    finally:
        _write({"t": wall, "ms": round((time.perf_counter() - t0) * 1000, 3), "name": name,
                "task": _task(), **attributes})


def mark(name: str, **attributes: object) -> None:
    """A moment (an event published, a process created): a span of no duration."""
    if ENABLED:
        _write({"t": time.time(), "ms": 0.0, "name": name, "task": _task(), **attributes})
