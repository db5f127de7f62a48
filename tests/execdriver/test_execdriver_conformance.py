"""The exec driver conformance suite: what the daemon relies on from any ExecDriver,
run against every implementation (execdriver.DRIVERS). A driver that passes this can
run the daemon's containers; test_conformance_catches_broken.py shows that drivers
broken in one clause each fail it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import time

import pytest
from .conftest import make_command, new_id, run_capture, start_background  # noqa: I001

from pyctr.engine.execdriver.driver import (ExecCommand, ExecError, Mount, ProcessConfig, Resources,
                                            StartedProcess, Stdio)
from pyctr.engine.libcontainer import cgroups

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def wait_for(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return value


async def exec_capture(driver, container_id: str, args: list[str]) -> tuple[int, str]:
    out_r, out_w = os.pipe()
    started: list[StartedProcess] = []
    try:
        status = await driver.exec(ExecCommand(container_id, ProcessConfig(args=args, env=[PATH_ENV])),
                                   Stdio(stdout=out_w, stderr=out_w), started.append)
    finally:
        os.close(out_w)
        out = b""
        while chunk := os.read(out_r, 65536):
            out += chunk
        os.close(out_r)
    assert len(started) == 1 and started[0].pid > 0
    return status.exit_code, out.decode(errors="replace")


# -- run: streams, exit codes, the on_created hook ---------------------------------------------


def test_run_returns_the_exit_code_and_the_streams(any_driver, busybox_rootfs, cgroup_parent):
    cmd = make_command(busybox_rootfs, sh("echo out; echo err >&2; exit 3"), cgroup_parent)
    r = asyncio.run(run_capture(any_driver, cmd))
    assert (r.status.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert r.started is not None and r.started.pid > 0 and r.started.console_fd is None


def test_killed_by_a_signal_is_128_plus_the_signal(any_driver, busybox_rootfs, cgroup_parent):
    cmd = make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent)

    async def created(sp):
        any_driver.kill(cmd.id, signal.SIGKILL)

    r = asyncio.run(run_capture(any_driver, cmd, created))
    assert r.status.exit_code == 128 + signal.SIGKILL
    assert not r.status.oom_killed


@pytest.mark.parametrize("args,code,message", [
    (["no-such-command"], 127, "executable file not found"),
    (["/etc/passwd"], 126, "permission denied"),
])
def test_a_command_that_cannot_run_exits_126_or_127_with_the_reason(any_driver, busybox_rootfs,
                                                                    cgroup_parent, args, code, message):
    r = asyncio.run(run_capture(any_driver, make_command(busybox_rootfs, args, cgroup_parent)))
    assert r.status.exit_code == code
    assert message in r.stderr


def test_on_created_runs_before_the_command(any_driver, busybox_rootfs, cgroup_parent, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    cmd = make_command(busybox_rootfs, ["cat", "/shared/ready"], cgroup_parent,
                       mounts=[Mount(str(shared), "/shared")])

    async def created(sp):
        (shared / "ready").write_text("set up by the daemon\n")

    r = asyncio.run(run_capture(any_driver, cmd, created))
    assert (r.status.exit_code, r.stdout) == (0, "set up by the daemon\n")


def test_an_on_created_failure_is_raised_and_nothing_is_left(any_driver, busybox_rootfs, cgroup_parent):
    async def created(sp):
        raise RuntimeError("network setup failed")

    cmd = make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent)
    with pytest.raises(RuntimeError, match="network setup failed"):
        asyncio.run(run_capture(any_driver, cmd, created))
    assert any_driver.pids(cmd.id) == []   # the fixture checks cgroups and processes too


def test_a_container_that_cannot_start_is_an_exec_error(any_driver, cgroup_parent, tmp_path):
    cmd = make_command(str(tmp_path / "no-rootfs"), ["true"], cgroup_parent)
    with pytest.raises(ExecError):
        asyncio.run(run_capture(any_driver, cmd))


def test_an_id_cannot_run_twice_at_once(any_driver, busybox_rootfs, cgroup_parent):
    async def main():
        c = await start_background(any_driver, make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent))
        try:
            with pytest.raises(ExecError):
                await run_capture(any_driver, make_command(busybox_rootfs, ["true"], cgroup_parent,
                                                           id=c.cmd.id))
        finally:
            any_driver.kill(c.cmd.id, signal.SIGKILL)
        return await c.task

    assert asyncio.run(main()).exit_code == 137


def test_mounts_are_writable_or_read_only_as_asked(any_driver, busybox_rootfs, cgroup_parent, tmp_path):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    cmd = make_command(busybox_rootfs, sh("echo hi > /rw/f && ! touch /ro/f 2>/dev/null"), cgroup_parent,
                       mounts=[Mount(str(rw), "/rw"), Mount(str(ro), "/ro", writable=False)])
    assert asyncio.run(run_capture(any_driver, cmd)).status.exit_code == 0
    assert (rw / "f").read_text() == "hi\n" and not (ro / "f").exists()


def test_a_tty_is_handed_over_as_the_console_fd(any_driver, busybox_rootfs, cgroup_parent):
    cmd = make_command(busybox_rootfs, sh("test -t 1 && echo TTY"), cgroup_parent, tty=True)
    consoles: list[int] = []

    async def created(sp):
        consoles.append(sp.console_fd)

    status = asyncio.run(any_driver.run(cmd, Stdio(), created))
    assert status.exit_code == 0 and consoles and consoles[0] is not None
    out = b""
    os.set_blocking(consoles[0], False)
    try:
        while chunk := os.read(consoles[0], 4096):
            out += chunk
    except OSError:   # EAGAIN, or EIO once the container's side is gone
        pass
    finally:
        os.close(consoles[0])
    assert b"TTY" in out


# -- a running container: pids, stats, pause, exec, kill, terminate ----------------------------


def test_pids_and_stats_of_a_running_container(any_driver, busybox_rootfs, cgroup_parent):
    seen = {}

    async def main():
        c = await start_background(any_driver, make_command(
            busybox_rootfs, sh("sleep 30 & sleep 31 & wait"), cgroup_parent,
            resources=Resources(memory=64 << 20)))
        try:
            await asyncio.to_thread(wait_for, lambda: len(any_driver.pids(c.cmd.id)) == 3, "3 processes")
            seen["pids"] = any_driver.pids(c.cmd.id)
            seen["init"] = c.started.pid
            seen["stats"] = any_driver.stats(c.cmd.id)
        finally:
            any_driver.kill(c.cmd.id, signal.SIGKILL)
        return await c.task

    assert asyncio.run(main()).exit_code == 137
    assert seen["init"] in seen["pids"]
    usage = seen["stats"]
    assert isinstance(usage, cgroups.CgroupUsage)
    assert usage.pids == 3
    assert usage.cpu_total > 0
    if cgroups.host_support().memory:
        assert usage.memory_limit == 64 << 20


def test_a_container_that_is_not_running(any_driver):
    gone = new_id()
    assert any_driver.pids(gone) == []
    for call in (lambda: any_driver.stats(gone), lambda: any_driver.kill(gone, signal.SIGTERM),
                 lambda: any_driver.pause(gone)):
        with pytest.raises(ExecError):
            call()
    with pytest.raises(ExecError):
        asyncio.run(exec_capture(any_driver, gone, ["true"]))
    any_driver.terminate(gone)   # nothing there: a no-op


def test_pause_stops_every_process_until_unpause(any_driver, busybox_rootfs, cgroup_parent, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    counter = work / "n"

    def count() -> int:   # the file only grows while the container runs
        return counter.stat().st_size if counter.exists() else 0

    async def main():
        c = await start_background(any_driver, make_command(
            busybox_rootfs, sh("while true; do echo x >> /work/n; done"), cgroup_parent,
            mounts=[Mount(str(work), "/work")]))
        try:
            await asyncio.to_thread(wait_for, count, "the counter to start")
            any_driver.pause(c.cmd.id)
            frozen = count()
            await asyncio.sleep(0.3)   # long enough for thousands of increments when running
            assert count() == frozen, "the counter moved while paused"
            any_driver.unpause(c.cmd.id)
            await asyncio.to_thread(wait_for, lambda: count() > frozen, "the counter to move again")
        finally:
            any_driver.kill(c.cmd.id, signal.SIGKILL)
        return await c.task

    assert asyncio.run(main()).exit_code == 137


def test_exec_runs_inside_the_running_container(any_driver, busybox_rootfs, cgroup_parent):
    seen = {}

    async def main():
        c = await start_background(any_driver, make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent,
                                                            hostname="conformant"))
        try:
            seen["hostname"] = await exec_capture(any_driver, c.cmd.id, ["hostname"])
            seen["exit"] = await exec_capture(any_driver, c.cmd.id, sh("exit 7"))
            seen["missing"] = await exec_capture(any_driver, c.cmd.id, ["no-such-command"])
            seen["same pid ns"] = await exec_capture(any_driver, c.cmd.id, ["cat", "/proc/1/cmdline"])
        finally:
            any_driver.kill(c.cmd.id, signal.SIGKILL)
        return await c.task

    assert asyncio.run(main()).exit_code == 137
    assert seen["hostname"] == (0, "conformant\n")
    assert seen["exit"][0] == 7
    assert seen["missing"][0] == 127
    assert seen["same pid ns"] == (0, "sleep\x0030\x00")


def test_an_exec_cancelled_while_it_starts_leaves_nothing_that_keeps_the_container(
        any_driver, busybox_rootfs, cgroup_parent):
    """A caller may give up on an exec at any moment of its start (a healthcheck ended by
    a daemon's shutdown, a client gone). The exec'd process is the driver's to kill and
    reap even then: an unreaped one in the container's pid namespace keeps the
    container's init from ever finishing its exit, so a SIGKILL never ends it."""
    async def main():
        c = await start_background(any_driver, make_command(busybox_rootfs, ["sleep", "60"], cgroup_parent))
        try:
            for step in range(30):   # the whole start, helper spawn to the exec'd process running
                devnull = os.open(os.devnull, os.O_WRONLY)
                task = asyncio.ensure_future(any_driver.exec(
                    ExecCommand(c.cmd.id, ProcessConfig(args=["sleep", "30"], env=[PATH_ENV])),
                    Stdio(stdout=devnull, stderr=devnull), lambda _: None))
                await asyncio.sleep(step * 0.01)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                os.close(devnull)
            # Nothing of those execs is left running in the container: only its init.
            await asyncio.to_thread(wait_for, lambda: len(any_driver.pids(c.cmd.id)) == 1,
                                    "only the init left in the container")
        finally:
            any_driver.kill(c.cmd.id, signal.SIGKILL)
        return await asyncio.wait_for(c.task, 10)

    assert asyncio.run(main()).exit_code == 137


def test_terminate_ends_every_process_of_the_container(any_driver, busybox_rootfs, cgroup_parent):
    async def main():
        c = await start_background(any_driver, make_command(
            busybox_rootfs, sh("sleep 30 & sleep 31; wait"), cgroup_parent))
        await asyncio.to_thread(wait_for, lambda: len(any_driver.pids(c.cmd.id)) == 3, "3 processes")
        any_driver.terminate(c.cmd.id)
        assert any_driver.pids(c.cmd.id) == []
        return await asyncio.wait_for(c.task, 10)

    assert asyncio.run(main()).exit_code == 137


def _terminate_as_the_last_to_run(driver, container_id: str, pids: list[int]) -> None:
    """terminate() from a thread that every process of the container preempts: all on one
    CPU, the caller SCHED_IDLE. A process woken by a sibling's death then runs before the
    caller's next kill (what a loaded host does now and then)."""
    cpu = min(os.sched_getaffinity(pids[0]))
    everywhere = os.sched_getaffinity(0)
    for pid in pids:
        os.sched_setaffinity(pid, {cpu})
    os.sched_setaffinity(0, {cpu})
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        driver.terminate(container_id)
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        os.sched_setaffinity(0, everywhere)


def test_terminate_kills_the_processes_together_so_none_exits_on_its_own(any_driver, busybox_rootfs,
                                                                       cgroup_parent):
    """An init that exits 0 as soon as a child dies: killed one by one, children first, it
    would (a shell's plain `wait` does the same). terminate() must kill them as one (frozen),
    so the exit is 137 whatever order the kernel lists the processes in; 16 runs see most
    orders."""
    script = "trap 'exit 0' CHLD; sleep 100 & sleep 101 & sleep 102 & wait"

    async def once() -> int:
        c = await start_background(any_driver, make_command(busybox_rootfs, sh(script), cgroup_parent))
        pids = await asyncio.to_thread(wait_for, lambda: (p := any_driver.pids(c.cmd.id)) and len(p) == 4
                                       and p, "4 processes")
        with concurrent.futures.ThreadPoolExecutor(1) as own_thread:   # its priority is changed
            await asyncio.get_running_loop().run_in_executor(
                own_thread, _terminate_as_the_last_to_run, any_driver, c.cmd.id, pids)
        return (await asyncio.wait_for(c.task, 10)).exit_code

    codes = [asyncio.run(once()) for _ in range(16)]
    assert codes == [137] * 16


def test_info_names_the_driver(any_driver):
    info = dict(any_driver.info())
    assert info["Execution Driver"] == any_driver.name and any_driver.name
