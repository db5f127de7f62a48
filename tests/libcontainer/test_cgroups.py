"""The cgroup managers, v1 and v2, on this host's real hierarchies with real processes."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from pyctr.engine.libcontainer import cgroups
from pyctr.engine.libcontainer.cgroups import CgroupConfig, DeviceRule
from pyctr.engine.libcontainer.cgroups import manager as cgmanager
from pyctr.engine.libcontainer.cgroups.v2 import shares_to_weight

if os.geteuid() != 0:
    pytest.skip("cgroups need root", allow_module_level=True)

HAS_V1 = cgroups.v1_available()
HAS_V2 = any(m.fstype == "cgroup2" for m in cgmanager.cgroup_mounts())


@pytest.fixture
def parent():
    name = f"pyctr-cgtest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield name
    for m in cgmanager.cgroup_mounts():
        d = cgmanager.host_path(m, "/" + name)
        if os.path.isdir(d):
            os.rmdir(d)   # fails (and so fails the test) if a container cgroup was left inside


@pytest.fixture
def sleeper():
    procs = []

    def start() -> subprocess.Popen:
        p = subprocess.Popen(["sleep", "60"])
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def join(manager, pid: int) -> None:
    for f in manager.procs_files():
        with open(f, "w") as fh:
            fh.write(str(pid))


@pytest.mark.parametrize("driver", [pytest.param("v1", marks=pytest.mark.skipif(not HAS_V1, reason="no v1")),
                                    pytest.param("v2", marks=pytest.mark.skipif(not HAS_V2, reason="no v2"))])
def test_track_freeze_destroy(driver, parent, sleeper):
    m = cgroups.new(CgroupConfig(name="c1", parent=parent), driver)
    assert m.driver == driver
    m.create()
    try:
        assert m.exists() and m.pids() == []
        p = sleeper()
        join(m, p.pid)
        assert m.pids() == [p.pid]
        m.freeze()   # returns once the kernel reports the cgroup frozen
        m.thaw()
        # A fresh manager from the saved state finds the same cgroup.
        again = cgroups.load(m.state())
        assert again.pids() == [p.pid]
        again.freeze()
        again.destroy()   # kills the frozen task too
        assert p.wait(timeout=5) == -9
        assert not m.exists()
        again.destroy()   # idempotent
    finally:
        m.destroy()


@pytest.mark.skipif(not HAS_V1, reason="no v1")
def test_v1_limits_and_devices(parent):
    cfg = CgroupConfig(name="c2", parent=parent, memory=32 << 20, cpu_shares=256, cpuset="0",
                       devices=[DeviceRule("c", 1, 3, "rwm"), DeviceRule("c", 136, -1, "rw")])
    m = cgroups.new(cfg, "v1")
    assert m.create() == []
    try:
        def read(ctrl, f):
            with open(os.path.join(m.paths[ctrl], f)) as fh:
                return fh.read().strip()

        assert int(read("memory", "memory.limit_in_bytes")) == 32 << 20
        assert int(read("memory", "memory.memsw.limit_in_bytes")) == 64 << 20
        assert read("cpu", "cpu.shares") == "256"
        assert read("cpuset", "cpuset.cpus") == "0"
        assert read("devices", "devices.list").splitlines() == ["c 1:3 rwm", "c 136:* rw"]
        assert not m.oom_killed()
    finally:
        m.destroy()


@pytest.mark.skipif(not HAS_V2, reason="no v2")
def test_v2_missing_controllers_warn(parent):
    m = cgroups.new(CgroupConfig(name="c3", parent=parent, memory=32 << 20), "v2")
    warnings = m.create()
    try:
        with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
            if "memory" not in f.read().split():
                assert any("memory controller not available" in w for w in warnings)
        assert any("device whitelist" in w for w in warnings)
    finally:
        m.destroy()


def test_shares_to_weight():
    assert shares_to_weight(2) == 1
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(262144) == 10000


def test_choose_driver(monkeypatch):
    monkeypatch.setenv(cgroups.DRIVER_ENV, "v2")
    assert cgroups.choose_driver() == "v2"
    assert cgroups.choose_driver("v1") == "v1"
    monkeypatch.setenv(cgroups.DRIVER_ENV, "v9")
    with pytest.raises(cgroups.CgroupError):
        cgroups.choose_driver()


@pytest.mark.parametrize("driver", [pytest.param("v1", marks=pytest.mark.skipif(not HAS_V1, reason="no v1")),
                                    pytest.param("v2", marks=pytest.mark.skipif(not HAS_V2, reason="no v2"))])
def test_usage_reader_of_each_version(driver, parent, sleeper):
    m = cgroups.new(CgroupConfig(name="c4", parent=parent, memory=64 << 20), driver)
    m.create()
    try:
        p = sleeper()
        join(m, p.pid)
        usage = m.usage()
        assert isinstance(usage, cgroups.CgroupUsage)
        assert usage.pids == 1
        if driver == "v1":   # v1 counts per CPU and always has the memory controller here
            assert usage.cpu_percpu is not None and len(usage.cpu_percpu) >= 1
            assert usage.memory_limit == 64 << 20
        elif os.path.exists(os.path.join(m.path, "memory.max")):   # v2 with its memory controller
            assert usage.memory_limit == 64 << 20
    finally:
        m.destroy()
    with pytest.raises(cgroups.CgroupError, match="gone"):
        m.usage()


def test_manager_module_knows_no_version():
    # The interface stays below its implementations: only the factory imports v1 and v2.
    import ast
    source = open(cgmanager.__file__).read()
    imported = {node.module for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"v1", "v2", "factory"}, imported
