"""The error of run/create flags and the one size grammar (`-m 512m`, `--shm-size`,
tmpfs `size=`), shared by runflags.py and mountflags.py."""

from __future__ import annotations

import re

_MEMORY = re.compile(r"^(\d+)([kKmMgGtT])?[bB]?$")


class SpecError(ValueError):
    """Invalid run/create flags; the message is Docker's wording."""


def parse_memory(text: str) -> int:
    """Docker's RAMInBytes: `512m`, `1g`, `1024k`, `100` (binary units, b optional)."""
    m = _MEMORY.match(text)
    if not m:
        raise SpecError(f"Invalid size: '{text}'")
    unit = (m.group(2) or "").lower()
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit]
