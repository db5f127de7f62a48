"""Fixtures for the volume driver conformance suite: each implementation in its own
root, and a directory beside it that no volume operation may touch."""

from __future__ import annotations


import pytest

from pyctr.engine.volumedriver import DRIVERS, VolumeDriver
from implementations import implementations as named_implementations  # noqa: E402

# The suite runs against every driver in DRIVERS; to show that it catches a broken
# one, this names other classes instead ("module:Class,module:Class").
IMPLEMENTATIONS_ENV = "PYCTR_TEST_VOLUMEDRIVERS"


def implementations() -> dict[str, type[VolumeDriver]]:
    return named_implementations(IMPLEMENTATIONS_ENV, DRIVERS)


@pytest.fixture(params=sorted(implementations()))
def driver(request, tmp_path) -> VolumeDriver:
    return implementations()[request.param](str(tmp_path / "volumes"))


@pytest.fixture
def outside(tmp_path):
    """A host directory beside the driver's root, with content of its own."""
    path = tmp_path / "host"
    path.mkdir()
    (path / "sentinel").write_text("the host's own")
    return path
