"""The harness's last resort after a failed test: what a killed live-restore daemon left
running (its containers, its keeper) must not outlive the test."""

from __future__ import annotations

import os

import pytest

from harness import start_with_busybox, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):   # gone between the open and the read
        return False


def test_cleanup_by_force_ends_a_live_restore_daemons_containers_and_keeper(tmp_path, busybox_tar):
    d = start_with_busybox(str(tmp_path / "d"), busybox_tar, ["--live-restore"])
    try:
        d.docker("run", "-d", "--name", "left", "busybox", "sleep", "300")
        pid = d.client().inspect_container("left")["State"]["Pid"]
        d.kill()   # as a test that fails mid-way leaves it: the container and keeper run on
        assert _alive(pid) and d.keeper_alive()
    finally:
        d.cleanup_by_force()
    wait_for(lambda: not _alive(pid))
    wait_for(lambda: not d.keeper_alive())
    assert not d.leftovers(), d.leftovers()
    assert "--live-restore" in d.extra_args   # the test's own flags are kept
