"""The daemon's volumes through the local driver, on a real pyctrd: a volume that
--volumes-from shares is held by both containers, also after the daemon restarts,
and `rm -v` deletes it only once nobody holds it."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_a_shared_anonymous_volume_outlives_its_first_holder_across_a_daemon_restart(fresh_daemon):
    first = fresh_daemon()
    first.docker("run", "--name", "owner", "-v", "/shared", "busybox", "sh", "-c", "echo one > /shared/f")
    first.docker("run", "--name", "borrower", "--volumes-from", "owner", "busybox",
                 "sh", "-c", "echo two >> /shared/f")
    volume = first.client().inspect_container("owner")["Volumes"]["/shared"]
    assert first.client().inspect_container("borrower")["Volumes"]["/shared"] == volume
    first.stop()
    second = fresh_daemon(first.workdir)   # knows who holds the volume from the records alone
    second.docker("rm", "-v", "owner")
    assert open(os.path.join(volume, "f")).read() == "one\ntwo\n"   # borrower still holds it
    second.docker("rm", "-v", "borrower")
    assert not os.path.exists(volume)
