"""Shared fixtures: a busybox image tarball, and real pyctrd daemons that each own
their data root, exec root and socket and must leave nothing behind."""

from __future__ import annotations

import os

import pytest

from harness import daemon_with_busybox, DaemonProcess, make_busybox_tar, mounts_under, start_with_busybox
from rootfs import make_busybox_rootfs

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("busybox-image")
    rootfs = make_busybox_rootfs(base / "rootfs")
    return make_busybox_tar(str(rootfs), str(base / "busybox.tar"))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, busybox_tar):
    """One daemon per test module, with busybox:latest imported."""
    workdir = str(tmp_path_factory.mktemp("pyctrd"))
    with daemon_with_busybox(workdir, busybox_tar) as d:
        yield d


@pytest.fixture
def fresh_daemon(tmp_path, busybox_tar):
    """A daemon of the test's own, for tests that kill or restart it."""
    holder: list[DaemonProcess] = []

    def start(workdir: str | None = None, args: list[str] | None = None) -> DaemonProcess:
        """A new daemon with busybox imported, or (given `workdir`) one restarted on an old
        root (with the same bridge and subnet); `args`: more pyctrd flags."""
        if workdir is None:
            d = start_with_busybox(str(tmp_path / f"d{len(holder)}"), busybox_tar, args)
        else:
            d = DaemonProcess(workdir, ["--shutdown-timeout", "2", *(args or [])]).start()
        holder.append(d)
        return d

    yield start
    left: list[str] = []
    try:
        for d in reversed(holder):   # a restarted daemon shares its bridge with the dead one
            if d.proc is not None and d.proc.poll() is None:
                d.stop()
                left += [item for item in d.leftovers() if not item.startswith(("mount", "exec state"))]
    finally:
        for d in holder:
            d.cleanup_by_force()
    assert not left, f"a daemon stopped cleanly but left its network behind: {left}"
    assert not mounts_under(str(tmp_path)), "mounts left under the test's directory"
