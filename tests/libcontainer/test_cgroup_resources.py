"""The resources of API 1.19-1.41 (CFS period/quota, reservation, swappiness, OOM killer,
cpuset mems, block I/O weights and throttles) as cgroup v1 and v2 files, and `update`
rewriting them in place. v1 runs on the real hierarchies; v2 against a cgroup2-shaped
tmpfs (this host's cgroup2 holds no controllers: see test_cgroups_v2_tree.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from pyctr.engine.libcontainer.cgroups import v1 as cg1
from pyctr.engine.libcontainer.cgroups.manager import CgroupConfig
from pyctr.engine.libcontainer.cgroups.v2 import V2Manager, limit_writes, wanted_controllers

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")

FULL = CgroupConfig(name="c", memory=64 << 20, memory_reservation=32 << 20, memory_swappiness=10,
                    oom_kill_disable=True, cpu_period=50000, cpu_quota=25000, cpuset_mems="0",
                    blkio_weight=300, blkio_weight_devices=[(8, 0, 200)], read_bps=[(8, 0, 1048576)],
                    write_iops=[(8, 0, 100)])


def test_v2_files_for_the_newer_resources():
    writes = limit_writes(FULL, lambda name: True)
    assert ("memory.low", str(32 << 20)) in writes
    assert ("cpu.max", "25000 50000") in writes
    assert ("cpuset.mems", "0") in writes
    assert ("io.weight", "default 300") in writes and ("io.weight", "8:0 200") in writes
    assert ("io.max", "8:0 rbps=1048576 wiops=100") in writes
    # a period alone leaves the quota unlimited
    assert ("cpu.max", "max 20000") in limit_writes(CgroupConfig(name="c", cpu_period=20000), lambda n: True)
    # BFQ's weight file where io.weight is not offered
    assert ("io.bfq.weight", "300") in limit_writes(CgroupConfig(name="c", blkio_weight=300),
                                                    lambda n: n == "io.bfq.weight")
    assert set(wanted_controllers(FULL)) == {"memory", "cpu", "cpuset", "io"}


def test_v1_files_for_the_newer_resources():
    has = lambda ctrl, name: name != "blkio.weight"   # noqa: E731  (BFQ, as here)
    writes = cg1.limit_writes(FULL, has)
    assert ("memory", "memory.soft_limit_in_bytes", str(32 << 20)) in writes
    assert ("memory", "memory.swappiness", "10") in writes
    assert ("memory", "memory.oom_control", "1") in writes
    assert ("cpu", "cpu.cfs_period_us", "50000") in writes and ("cpu", "cpu.cfs_quota_us", "25000") in writes
    assert ("cpuset", "cpuset.mems", "0") in writes
    assert ("blkio", "blkio.bfq.weight", "300") in writes
    assert ("blkio", "blkio.bfq.weight_device", "8:0 200") in writes
    assert ("blkio", "blkio.throttle.read_bps_device", "8:0 1048576") in writes
    assert ("blkio", "blkio.throttle.write_iops_device", "8:0 100") in writes
    assert not [w for w in cg1.limit_writes(CgroupConfig(name="c"), has)]   # nothing asked, nothing written


@requires_root
@pytest.mark.skipif(not cg1.probe().memory, reason="no cgroup v1 memory hierarchy")
def test_v1_update_changes_a_live_cgroup_in_place():
    name = f"pyctr-test-update-{os.getpid()}"
    m = cg1.V1Manager(CgroupConfig(name=name, memory=64 << 20, pids_limit=20))
    m.create()
    try:
        # raising memory above the old memory+swap (128m) needs memsw written first
        warnings = m.update(CgroupConfig(name=name, memory=256 << 20, memory_swap=512 << 20,
                                         pids_limit=30, cpu_period=100000, cpu_quota=50000))
        assert warnings == []
        read = lambda ctrl, f: open(os.path.join(m.paths[ctrl], f)).read().strip()  # noqa: E731
        assert read("memory", "memory.limit_in_bytes") == str(256 << 20)
        if os.path.exists(os.path.join(m.paths["memory"], "memory.memsw.limit_in_bytes")):
            assert read("memory", "memory.memsw.limit_in_bytes") == str(512 << 20)
        assert read("pids", "pids.max") == "30"
        assert read("cpu", "cpu.cfs_quota_us") == "50000"
        # and back down: memory first
        m.update(CgroupConfig(name=name, memory=32 << 20, memory_swap=64 << 20))
        assert read("memory", "memory.limit_in_bytes") == str(32 << 20)
    finally:
        m.destroy()


@requires_root
def test_v2_update_enables_what_it_needs_and_writes(tmp_path):
    root = tmp_path / "cgroup2"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "fake-cgroup2", str(root)], check=True)
    try:
        for d in (root, root / "p"):
            d.mkdir(exist_ok=True)
            (d / "cgroup.controllers").write_text("cpu memory pids io\n")
            (d / "cgroup.subtree_control").write_text("")
        m = V2Manager(CgroupConfig(name="ctr", parent="p"), root=str(root))
        os.mkdir(m.path)
        for f in ("cpu.max", "memory.max", "memory.low", "pids.max", "io.max"):
            (root / "p" / "ctr" / f).write_text("")
        m.update(CgroupConfig(name="ctr", memory=64 << 20, memory_reservation=16 << 20,
                              cpu_period=100000, cpu_quota=50000, read_bps=[(8, 0, 1000)]))
        ctr = root / "p" / "ctr"
        assert (ctr / "memory.max").read_text() == str(64 << 20)
        assert (ctr / "memory.low").read_text() == str(16 << 20)
        assert (ctr / "cpu.max").read_text() == "50000 100000"
        assert (ctr / "io.max").read_text() == "8:0 rbps=1000"
        # the controllers were enabled down the chain (a tmpfs keeps only the last "+x" written)
        assert (root / "cgroup.subtree_control").read_text().startswith("+")
        assert (root / "p" / "cgroup.subtree_control").read_text().startswith("+")
    finally:
        subprocess.run(["umount", str(root)], check=True)
