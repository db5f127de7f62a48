"""Fixtures for the exec driver tests: a busybox rootfs, a driver with its own state
dir and cgroup parent (the native one, or each implementation for the conformance
suite), and a check that every test leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass, field

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rootfs import make_busybox_rootfs  # noqa: E402
from implementations import implementations as named_implementations  # noqa: E402

from pyctr.engine.execdriver import DRIVERS  # noqa: E402
from pyctr.engine.execdriver.driver import (Command, ExecDriver, ExitStatus, ProcessConfig,  # noqa: E402
                                            StartedProcess, Stdio)
from pyctr.engine.execdriver.native import NativeDriver  # noqa: E402
from pyctr.engine.libcontainer.cgroups import manager as cgmanager  # noqa: E402

if os.geteuid() != 0:
    pytest.skip("the native exec driver needs root", allow_module_level=True)

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cgroup_dirs_named(parent: str) -> list[str]:
    """Every directory for cgroup `parent` (relative to the hierarchy roots), v1 and v2."""
    out = []
    for m in cgmanager.cgroup_mounts():
        d = cgmanager.host_path(m, "/" + parent)
        if os.path.isdir(d) and d not in out:
            out.append(d)
    return out


@pytest.fixture(scope="session")
def cgroup_parent():
    parent = f"pyctr-test-{os.getpid()}"
    yield parent
    for d in cgroup_dirs_named(parent):
        for sub in os.listdir(d):
            if os.path.isdir(os.path.join(d, sub)):
                os.rmdir(os.path.join(d, sub))
        os.rmdir(d)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory) -> str:
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    # Only our own paths: other daemons on the machine (a user's pyctrd, other
    # test modules running at the same time) have mounts of their own.
    return [p for p in points if p == path or p.startswith(path.rstrip("/") + "/")]


def _children() -> list[int]:
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == me:
            out.append(int(pid))
    return out


# The conformance suite runs against every driver in DRIVERS; to show that it catches
# a broken one, this names other classes instead ("module:Class,module:Class").
IMPLEMENTATIONS_ENV = "PYCTR_TEST_EXECDRIVERS"


def implementations() -> dict[str, type[ExecDriver]]:
    return named_implementations(IMPLEMENTATIONS_ENV, DRIVERS)


@pytest.fixture
def driver(tmp_path, cgroup_parent, busybox_rootfs):
    state = tmp_path / "state"
    before = set(_children())
    drv = NativeDriver(root=str(state))
    yield drv
    _assert_nothing_left(state, tmp_path, cgroup_parent, busybox_rootfs, before)


@pytest.fixture(params=sorted(implementations()))
def any_driver(request, tmp_path, cgroup_parent, busybox_rootfs):
    """Each implementation of the interface in turn, made as the daemon makes it."""
    state = tmp_path / "state"
    before = set(_children())
    drv = implementations()[request.param](root=str(state))
    yield drv
    _assert_nothing_left(state, tmp_path, cgroup_parent, busybox_rootfs, before)


def _assert_nothing_left(state, tmp_path, cgroup_parent: str, busybox_rootfs: str,
                         children_before: set[int]) -> None:
    """No mount, no cgroup, no process, no state file may outlive a test. Processes are those the
    test started: a pytest-xdist worker also holds other files' session fixtures (registries)."""
    left_cgroups = [os.path.join(d, s) for d in cgroup_dirs_named(cgroup_parent) for s in os.listdir(d)
                    if os.path.isdir(os.path.join(d, s))]
    left_mounts = _mounts_under(str(tmp_path)) + _mounts_under(busybox_rootfs)
    left_procs = [pid for pid in _children() if pid not in children_before]
    left_state = [os.path.join(d, f) for d, _, files in os.walk(state) for f in files]
    for c in left_cgroups:   # clean up before failing, so one failure does not cascade
        for pid in cgmanager.read_pids(os.path.join(c, "cgroup.procs")):
            os.kill(pid, 9)
        cgmanager.wait_until(lambda: not cgmanager.read_pids(os.path.join(c, "cgroup.procs")), 5, c)
        os.rmdir(c)
    assert not left_mounts, f"mounts left behind: {left_mounts}"
    assert not left_cgroups, f"cgroups left behind: {left_cgroups}"
    assert not left_procs, f"processes left behind: {left_procs}"
    assert not left_state, f"state files left behind: {left_state}"


def new_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


@dataclass
class Result:
    status: ExitStatus
    stdout: str
    stderr: str
    started: StartedProcess | None = None


@dataclass
class Container:
    """One container run in the background, for tests that act on it while it runs."""

    driver: ExecDriver
    cmd: Command
    created: asyncio.Event = field(default_factory=asyncio.Event)
    started: StartedProcess | None = None
    task: asyncio.Task | None = None


def make_command(rootfs: str, args: list[str], cgroup_parent: str, **kw) -> Command:
    process = ProcessConfig(args=args, env=kw.pop("env", [PATH_ENV, "HOSTNAME=box"]),
                            cwd=kw.pop("cwd", "/"), user=kw.pop("user", ""),
                            tty=kw.pop("tty", False), stdin=kw.pop("stdin", False))
    return Command(id=kw.pop("id", None) or new_id(), rootfs=rootfs, hostname=kw.pop("hostname", "box"),
                   process=process, cgroup_parent=cgroup_parent, **kw)


async def run_capture(driver: ExecDriver, cmd: Command, on_created=None) -> Result:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    seen: list[StartedProcess] = []

    async def created(sp: StartedProcess) -> None:
        seen.append(sp)
        if on_created is not None:
            await on_created(sp)

    try:
        status = await driver.run(cmd, Stdio(stdout=out_w, stderr=err_w), created)
    finally:
        os.close(out_w)
        os.close(err_w)
        out, err = _drain(out_r), _drain(err_r)
    return Result(status, out, err, seen[0] if seen else None)


def _drain(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


async def start_background(driver: ExecDriver, cmd: Command) -> Container:
    c = Container(driver, cmd)

    async def created(sp: StartedProcess) -> None:
        c.started = sp
        c.created.set()

    c.task = asyncio.create_task(driver.run(cmd, Stdio(), created))
    waiter = asyncio.create_task(c.created.wait())
    done, _ = await asyncio.wait({c.task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if c.task in done:
        waiter.cancel()
        c.task.result()   # raises the start error
        raise AssertionError("container exited before it was created")
    assert waiter in done, "container did not start in 10 s"
    return c
