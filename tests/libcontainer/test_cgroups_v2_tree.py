"""The cgroup v2 manager's file formats and decisions, against a cgroup2-shaped tree in a tmpfs.

This machine's cgroup2 hierarchy holds only hugetlb (its controllers are on v1), so the v2
manager cannot run whole here, and re-mounting the host's controllers is not an option. What a
tmpfs can stand in for: the files the manager reads (cpu.stat, memory.events, ...), the
subtree_control chain it enables, and which limit files it writes with what. What it cannot:
the kernel creating interface files on mkdir, "no internal processes" (EBUSY), freezing, and
cgroup.kill; those are untested on a v2-only host (see the README). The real unified hierarchy
is used by tests/libcontainer/test_cgroups.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from pyctr.engine.libcontainer.cgroups.manager import CgroupConfig
from pyctr.engine.libcontainer.cgroups.v2 import V2Manager, limit_writes, shares_to_weight, wanted_controllers

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs")


def _write(path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _read(path) -> str:
    with open(path) as f:
        return f.read()


@pytest.fixture
def tree(tmp_path):
    """A tmpfs laid out as a cgroup2 root offering cpu, memory and pids (no cpuset)."""
    root = tmp_path / "cgroup2"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "fake-cgroup2", str(root)], check=True)
    try:
        _write(root / "cgroup.controllers", "cpu memory pids\n")
        _write(root / "cgroup.subtree_control", "")
        parent = root / "pyctr-test"
        parent.mkdir()
        _write(parent / "cgroup.controllers", "cpu memory pids\n")
        _write(parent / "cgroup.subtree_control", "")
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_wanted_controllers_follow_the_limits():
    assert wanted_controllers(CgroupConfig(name="c")) == []
    assert wanted_controllers(CgroupConfig(name="c", memory=1 << 20, cpu_shares=512, cpuset="0",
                                           pids_limit=10)) == ["memory", "cpu", "cpuset", "pids"]


def test_limit_writes_map_docker_limits_to_v2_files():
    every_file = lambda name: True  # noqa: E731
    cfg = CgroupConfig(name="c", memory=64 << 20, cpu_shares=1024, cpuset="0-1", pids_limit=50)
    assert limit_writes(cfg, every_file) == [
        ("memory.max", str(64 << 20)),
        ("memory.swap.max", str(64 << 20)),   # Docker 1.2: memory+swap = 2x memory -> swap = memory
        ("cpu.weight", str(shares_to_weight(1024))),
        ("cpuset.cpus", "0-1"),
        ("pids.max", "50"),
    ]
    # --memory-swap is v1's memory+swap; v2's file holds the swap alone.
    assert ("memory.swap.max", str(32 << 20)) in limit_writes(
        CgroupConfig(name="c", memory=64 << 20, memory_swap=96 << 20), every_file)
    assert ("memory.swap.max", "max") in limit_writes(
        CgroupConfig(name="c", memory=64 << 20, memory_swap=-1), every_file)
    # A swap limit below the memory limit cannot mean negative swap.
    assert ("memory.swap.max", "0") in limit_writes(
        CgroupConfig(name="c", memory=64 << 20, memory_swap=32 << 20), every_file)


def test_limit_writes_skip_files_a_disabled_controller_lacks():
    only_memory = lambda name: name == "memory.max"  # noqa: E731
    cfg = CgroupConfig(name="c", memory=8 << 20, cpu_shares=512, pids_limit=5)
    assert limit_writes(cfg, only_memory) == [("memory.max", str(8 << 20))]   # no swap accounting either
    assert limit_writes(cfg, lambda name: False) == []


def test_shares_map_onto_the_weight_range():
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000
    assert shares_to_weight(1024) == 39      # Docker's default share -> the kernel's mapping
    assert shares_to_weight(0) == 1 and shares_to_weight(10**9) == 10000   # clamped


@requires_root
def test_create_enables_controllers_from_the_root_down_and_warns_for_missing_ones(tree):
    m = V2Manager(CgroupConfig(name="ctr1", parent="pyctr-test", memory=16 << 20, cpuset="0",
                               allow_all_devices=True), root=str(tree))
    warnings = m.create()
    assert m.path == str(tree / "pyctr-test" / "ctr1") and os.path.isdir(m.path)
    # Each level from the root to the parent gets +memory; cpuset is not offered: one warning.
    assert _read(tree / "cgroup.subtree_control") == "+memory"
    assert _read(tree / "pyctr-test" / "cgroup.subtree_control") == "+memory"
    assert warnings == ["cgroup v2: cpuset controller not available: limit discarded"]


@requires_root
def test_create_without_limits_touches_no_subtree_control(tree):
    m = V2Manager(CgroupConfig(name="ctr2", parent="pyctr-test"), root=str(tree))
    warnings = m.create()
    assert _read(tree / "cgroup.subtree_control") == ""
    assert warnings == ["cgroup v2: device whitelist not enforced (needs eBPF)"]


@requires_root
def test_usage_reads_the_v2_file_formats(tree):
    d = tree / "pyctr-test" / "ctr3"
    d.mkdir()
    _write(d / "cgroup.procs", "101\n102\n")
    _write(d / "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n"
                           "nr_periods 7\nnr_throttled 3\nthrottled_usec 40\n")
    _write(d / "memory.current", "4096\n")
    _write(d / "memory.peak", "8192\n")
    _write(d / "memory.max", "max\n")
    _write(d / "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    _write(d / "memory.stat", "anon 1024\nfile 2048\nnot_a_number x\n")
    _write(d / "pids.current", "2\n")
    m = V2Manager.from_state({"path": str(d)})
    u = m.usage()
    assert (u.cpu_total, u.cpu_user, u.cpu_system) == (2_500_000, 2_000_000, 500_000)   # usec -> ns
    assert (u.throttle_periods, u.throttled_periods, u.throttled_time) == (7, 3, 40_000)
    assert (u.memory_usage, u.memory_max_usage, u.memory_limit, u.memory_failcnt) == (4096, 8192, 0, 4)
    assert u.memory_stat == {"anon": 1024, "file": 2048}
    assert u.pids == 2 and m.pids() == [101, 102]
    assert m.oom_killed()
    assert m.state() == {"driver": "v2", "path": str(d)}


@requires_root
def test_freeze_and_thaw_write_cgroup_freeze_and_read_cgroup_events(tree):
    d = tree / "pyctr-test" / "ctr4"
    d.mkdir()
    m = V2Manager.from_state({"path": str(d)})
    _write(d / "cgroup.events", "populated 1\nfrozen 1\n")   # the kernel's answer to a freeze
    m.freeze()
    assert _read(d / "cgroup.freeze") == "1"
    _write(d / "cgroup.events", "populated 1\nfrozen 0\n")
    m.thaw()
    assert _read(d / "cgroup.freeze") == "0"


@requires_root
def test_usage_of_a_removed_cgroup_is_an_error(tree):
    from pyctr.engine.libcontainer.cgroups.manager import CgroupError
    m = V2Manager.from_state({"path": str(tree / "pyctr-test" / "gone")})
    with pytest.raises(CgroupError):
        m.usage()
