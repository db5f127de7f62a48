"""Named step boundaries where a test can make pyctrd die as if SIGKILLed.

`PYCTR_CRASH_AT=<name>:<n>` (several joined by ",") makes the n-th pass (from 1)
through `crash_point("<name>")` end the process at once with os._exit(137): no
finally blocks, no atexit, no flush, exactly what a SIGKILL leaves. Unset (always,
outside the crash tests) a crash point costs one dict lookup. The names in use are
listed in tests/integration/test_crash.py (POINTS) and in the README."""

from __future__ import annotations

import os
import sys


def _parse(spec: str) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        wanted[name] = int(count or 1)
    return wanted


_wanted = _parse(os.environ.get("PYCTR_CRASH_AT", ""))
_passed: dict[str, int] = {}


def crash_point(name: str) -> None:
    if not _wanted or name not in _wanted:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == _wanted[name]:
        sys.stderr.write(f"pyctrd: PYCTR_CRASH_AT={name}:{_wanted[name]} reached, dying\n")
        sys.stderr.flush()
        os._exit(137)
