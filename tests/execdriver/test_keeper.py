"""The native driver through the keeper (libcontainer/keeper.py): containers started
by one driver instance outlive it, and another instance (a restarted daemon) gets
them back with their pid, their stdio and their exit code, also one that came while
no driver was connected."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import time

import pytest

from .conftest import _assert_nothing_left, _children, make_command, start_background
from .test_execdriver_conformance import _terminate_as_the_last_to_run, wait_for
from pyctr.engine.execdriver.driver import StartedProcess, Stdio
from pyctr.engine.execdriver.native import NativeDriver


@pytest.fixture
def keeper_dir(tmp_path, cgroup_parent, busybox_rootfs):
    exec_root = tmp_path / "exec"
    exec_root.mkdir()
    before = set(_children())
    yield str(exec_root)
    pid_file = exec_root / "keeper.pid"
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:   # it leaves once nobody needs it
        time.sleep(0.05)
    assert not pid_file.exists(), "the keeper did not exit"
    # The driver made this process a child subreaper: the (detached) keeper was
    # reparented to it, so it is ours to reap.
    deadline = time.monotonic() + 30
    while (left := set(_children()) - before) and time.monotonic() < deadline:
        for pid in left:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    exited = f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except FileNotFoundError:
                continue
            if exited:
                os.waitpid(pid, 0)
        time.sleep(0.02)
    _assert_nothing_left(tmp_path / "state", tmp_path, cgroup_parent, busybox_rootfs, before)


def _driver(tmp_path, keeper_dir) -> NativeDriver:
    return NativeDriver(root=str(tmp_path / "state"), keeper_dir=keeper_dir)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_run_through_the_keeper(tmp_path, keeper_dir, busybox_rootfs, cgroup_parent):
    async def main():
        drv = _driver(tmp_path, keeper_dir)
        await drv.open()
        out_r, out_w = os.pipe()
        cmd = make_command(busybox_rootfs, ["sh", "-c", "echo out; exit 3"], cgroup_parent)

        async def created(sp: StartedProcess) -> None:
            pass

        try:
            status = await drv.run(cmd, Stdio(stdout=out_w, daemon_ends={"stdout": out_r}), created)
        finally:
            os.close(out_w)
        await drv.forget(cmd.id)
        drv.keeper.close()
        return status.exit_code, _read_all(out_r)

    assert asyncio.run(main()) == (3, b"out\n")


def test_a_new_driver_adopts_running_and_exited_containers(tmp_path, keeper_dir, busybox_rootfs,
                                                           cgroup_parent):
    async def main():
        first = _driver(tmp_path, keeper_dir)
        await first.open()
        started: dict[str, StartedProcess] = {}
        runs = []
        cmds = {"sleeper": make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent),
                "four": make_command(busybox_rootfs, ["sh", "-c", "sleep 0.5; echo late; exit 4"],
                                     cgroup_parent)}
        pipes = {}
        for name, cmd in cmds.items():
            r, w = os.pipe()
            pipes[name] = r
            ready = asyncio.Event()

            async def created(sp, name=name, ready=ready):
                started[name] = sp
                ready.set()

            runs.append(asyncio.ensure_future(first.run(cmd, Stdio(stdout=w, daemon_ends={"stdout": r}), created)))
            await ready.wait()
            os.close(w)
        # The daemon goes away: its runs are cancelled, the containers run on.
        first.detach()
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        first.keeper.close()
        for fd in pipes.values():
            os.close(fd)
        assert all(os.path.exists(f"/proc/{sp.pid}") for sp in started.values())
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{started['four'].pid}") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)   # exits (and is reaped by the keeper) with no driver there

        second = _driver(tmp_path, keeper_dir)
        await second.open()
        assert second.live() == {c.id for c in cmds.values()}
        four = await second.restore(cmds["four"].id)
        assert four.pid == started["four"].pid and four.exited.exit_code == 4
        assert _read_all(four.fds["stdout"]) == b"late\n"   # written while nobody read
        second.terminate(cmds["four"].id)
        await second.forget(cmds["four"].id)

        sleeper = await second.restore(cmds["sleeper"].id)
        assert sleeper.pid == started["sleeper"].pid and sleeper.exited is None
        assert second.pids(cmds["sleeper"].id) == [sleeper.pid]
        second.kill(cmds["sleeper"].id, signal.SIGKILL)
        status = await second.resume(cmds["sleeper"].id)
        os.close(sleeper.fds["stdout"])
        second.terminate(cmds["sleeper"].id)
        await second.forget(cmds["sleeper"].id)
        second.keeper.close()
        return status.exit_code

    assert asyncio.run(main()) == 137


def test_terminate_through_the_keeper_reports_137_whatever_the_kill_order(tmp_path, keeper_dir,
                                                                         busybox_rootfs, cgroup_parent):
    """The daemon's path (the keeper reaps the init and reports its code) under the same
    provocation as the conformance suite's terminate test: an init that would exit 0 if
    it saw a child die first must be reported killed (137) every time."""
    script = "trap 'exit 0' CHLD; sleep 100 & sleep 101 & sleep 102 & wait"

    async def main() -> list[int]:
        drv = _driver(tmp_path, keeper_dir)
        await drv.open()
        codes = []
        try:
            for _ in range(16):
                c = await start_background(drv, make_command(busybox_rootfs, ["sh", "-c", script], cgroup_parent))
                pids = await asyncio.to_thread(
                    wait_for, lambda: (p := drv.pids(c.cmd.id)) and len(p) == 4 and p, "4 processes")
                with concurrent.futures.ThreadPoolExecutor(1) as own_thread:
                    await asyncio.get_running_loop().run_in_executor(
                        own_thread, _terminate_as_the_last_to_run, drv, c.cmd.id, pids)
                codes.append((await asyncio.wait_for(c.task, 10)).exit_code)
                await drv.forget(c.cmd.id)
        finally:
            drv.keeper.close()
        return codes

    assert asyncio.run(main()) == [137] * 16
