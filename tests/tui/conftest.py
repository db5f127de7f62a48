"""Fixtures of the TUI tests (the daemons come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from harness import DaemonProcess
from private_dockerd import private_dockerd


@pytest.fixture
def cleanup(daemon):
    """Names of containers a test made, removed afterwards whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        daemon.pyctr("rm", "-f", name, check=False)


class DockerdUnderTest:
    """The private real dockerd, with the harness daemon's docker/client/env (which need
    only a host and a work directory), so one TUI test body runs against both engines."""
    name = "dockerd"
    client = DaemonProcess.client
    env = DaemonProcess.env
    docker = DaemonProcess.docker

    def __init__(self, engine) -> None:
        self.host, self.workdir = engine.host, engine.workdir


@pytest.fixture(scope="module")
def private_docker(tmp_path_factory, busybox_tar):
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-tui")), busybox_tar) as engine:
        yield DockerdUnderTest(engine)


@pytest.fixture(params=["pyctrd", "dockerd"])
def engine(request):
    """The test's pyctrd, then a real Docker engine (skipped, with the reason, only when
    that dockerd cannot start here)."""
    if request.param == "pyctrd":
        return request.getfixturevalue("daemon")
    return request.getfixturevalue("private_docker")
