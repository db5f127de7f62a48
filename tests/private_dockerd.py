"""A private real dockerd (bench/engines.py's launcher: its own data root and socket, no
network of its own) with the test's busybox image, for side-by-side comparisons; a
skip saying why when it does not start here."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from typing import Iterator

import pytest

from harness import mounts_under

HERE = os.path.dirname(os.path.abspath(__file__))   # tests/


@contextlib.contextmanager
def private_dockerd(workdir: str, busybox_tar: str) -> Iterator[object]:
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (Debian's docker.io): no comparison with Docker")
    sys.path.insert(0, os.path.join(HERE, "..", "bench"))
    from engines import Docker

    try:
        engine = Docker(workdir)
    except RuntimeError as e:
        pytest.skip(f"a private dockerd does not start here: {e}")
    try:
        with open(busybox_tar, "rb") as f:
            engine.docker("import", "-", "busybox:latest", stdin=f)
        yield engine
    finally:
        engine.stop()
        assert not mounts_under(workdir), "dockerd's mounts were left behind"
