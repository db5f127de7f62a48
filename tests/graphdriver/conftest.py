"""Fixtures for the graph driver conformance suite: one driver per test, in its own home,
always cleaned up, and no mount may outlive the test (also when it fails)."""

from __future__ import annotations

import os
import sys

import pytest

# The tar builders and tree snapshots live with the archive tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "archive"))

from pyctr.engine.graphdriver import DRIVERS, OverlayDriver  # noqa: E402
from pyctr.engine.graphdriver._sys import MNT_DETACH, mountpoints_under, umount  # noqa: E402


def mounts_under(path: str) -> list[str]:
    """Mount points below `path` as /proc/mounts shows them (what an operator would see)."""
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return [p for p in points if p == path or p.startswith(path + "/")]


def _supported(name: str, home: str) -> bool:
    cls = DRIVERS[name]
    return cls.supported(home) if cls is OverlayDriver else cls.supported()


@pytest.fixture(params=sorted(DRIVERS))
def driver(request, tmp_path):
    name = request.param
    home = str(tmp_path / "home")
    if not _supported(name, str(tmp_path)):
        pytest.skip(f"{name} is not supported on this host")
    d = DRIVERS[name](home)
    try:
        yield d
    finally:
        d.cleanup()
        left = mounts_under(home)
        for point in mountpoints_under(home):  # never leave a mount behind, even on failure
            umount(point, MNT_DETACH)
        assert left == [], f"{name}.cleanup() left mounts: {left}"


@pytest.fixture
def outside(tmp_path):
    """A directory beside the driver home that no layer operation may touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "sentinel").write_text("untouched")
    return str(path)
