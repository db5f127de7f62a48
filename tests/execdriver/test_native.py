"""The native exec driver on the real kernel: namespaces, mounts, users, caps, cgroups, tty."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from .conftest import (make_command, new_id, run_capture, start_background,  # noqa: I001
                      cgroup_dirs_named)

from pyctr.engine.execdriver.driver import (ExecError, Mount, Network, Resources, StartedProcess,
                                            Stdio)
from pyctr.engine.execdriver.native import NativeDriver
from pyctr.engine.libcontainer import capabilities


@pytest.fixture
def run(driver, busybox_rootfs, cgroup_parent):
    """run(args, **command_fields) -> Result, in a fresh event loop."""

    def _run(args, on_created=None, **kw):
        cmd = make_command(busybox_rootfs, args, cgroup_parent, **kw)
        return asyncio.run(run_capture(driver, cmd, on_created))

    return _run


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def test_echo_through_stdout_pipe(run):
    r = run(["echo", "hello", "world"])
    assert r.status.exit_code == 0
    assert r.stdout == "hello world\n"
    assert r.stderr == ""


@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 3", 3), ("kill -9 $$; exit 5", 5)])
def test_exit_codes(run, script, code):
    # pid 1 ignores signals from inside its namespace, SIGKILL included.
    assert run(sh(script)).status.exit_code == code


def test_missing_command_is_127_with_message(run):
    r = run(["no-such-command", "x"])
    assert r.status.exit_code == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in r.stderr


def test_missing_absolute_command_is_127(run):
    r = run(["/nope/cmd"])
    assert r.status.exit_code == 127
    assert "no such file or directory" in r.stderr


def test_not_executable_is_126(run):
    r = run(["/etc/passwd"])
    assert r.status.exit_code == 126
    assert "permission denied" in r.stderr


def test_sigkill_from_driver_is_137(driver, busybox_rootfs, cgroup_parent):
    async def main():
        async def created(sp):
            driver.kill(cmd.id, signal.SIGKILL)

        return await run_capture(driver, cmd, created)

    cmd = make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent)
    assert asyncio.run(main()).status.exit_code == 128 + 9


def test_hostname_and_pid_1(run):
    r = run(sh("hostname; echo $$; cat /proc/1/cmdline | tr '\\0' ' '"), hostname="boxy")
    assert r.stdout.splitlines() == ["boxy", "1", "sh -c " + "hostname; echo $$; cat /proc/1/cmdline | tr '\\0' ' '" + " "]


def test_netns_none_has_only_lo_up(run):
    r = run(sh("ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W2 127.0.0.1 >/dev/null && echo PING"))
    lines = r.stdout.split()
    assert lines[0] == "lo" and "eth0" not in lines
    assert "PING" in lines


def test_netns_host_sees_host_links(run):
    # other test daemons (in parallel) add and remove veths meanwhile: the container sees
    # every link that was there throughout, and only links that were there at some point
    before = set(os.listdir("/sys/class/net"))
    r = run(["ls", "/sys/class/net"], network=Network(mode="host"))
    after = set(os.listdir("/sys/class/net"))
    seen = set(r.stdout.split())
    assert before & after <= seen <= before | after
    assert {"lo", "eth0"} & before & after <= seen and len(seen) > 1   # not a namespace of its own


def test_netns_container_joins_another(driver, busybox_rootfs, cgroup_parent):
    async def main():
        first = await start_background(driver, make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent))
        try:
            # Tag the first container's lo with an address only it has.
            add = make_command(busybox_rootfs, sh("ip addr add 127.0.0.7/8 dev lo && ip addr show lo"),
                               cgroup_parent, network=Network(mode="container", join_pid=first.started.pid),
                               capabilities=list(capabilities.DOCKER_DEFAULT) + ["NET_ADMIN"])
            return await run_capture(driver, add)
        finally:
            driver.terminate(first.cmd.id)
            await first.task

    r = asyncio.run(main())
    assert r.status.exit_code == 0, r.stderr
    assert "127.0.0.7" in r.stdout


def test_proc_sys_and_sys_are_readonly(run):
    r = run(sh("echo x > /proc/sys/kernel/hostname && echo PROCSYS-WRITABLE; "
               "touch /sys/kernel/x 2>/dev/null; mkdir /sys/fs/x 2>/dev/null && echo SYS-WRITABLE; "
               "grep -E ' /(sys|proc/sys) ' /proc/mounts"))
    assert "WRITABLE" not in r.stdout
    mounts = {line.split()[1]: line.split()[3].split(",") for line in r.stdout.splitlines()}
    assert "ro" in mounts["/sys"] and "ro" in mounts["/proc/sys"]


def test_privileged_sys_writable_and_all_caps(run):
    r = run(sh("grep ' /sys ' /proc/mounts; grep CapEff /proc/self/status"), privileged=True)
    assert r.status.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[3].startswith("rw")
    assert int(lines[1].split()[1], 16) == capabilities.held_by_self()


def test_user_nobody(run):
    r = run(sh("id; echo $HOME"), user="nobody")
    assert r.stdout.splitlines() == ["uid=65534(nobody) gid=65534(nogroup)",
                                     "/nonexistent"]


def test_user_with_supplementary_groups_and_numeric(run):
    r = run(["id"], user="daemon")
    assert r.stdout.strip() == "uid=1(daemon) gid=1(daemon) groups=50(staff)"
    r = run(["id"], user="1234:50")
    assert r.stdout.strip().startswith("uid=1234 gid=50(staff)")


def test_unknown_user_exits_1_with_message(run):
    r = run(["id"], user="ghost")
    assert r.status.exit_code == 1
    assert "Unable to find user ghost" in r.stderr


def test_cwd_created_and_env(run):
    r = run(sh("pwd; echo $FOO; echo $HOME; echo $HOSTNAME"), cwd="/work/dir",
            env=["PATH=/bin:/usr/bin", "FOO=bar baz", "HOSTNAME=box"])
    assert r.stdout.splitlines() == ["/work/dir", "bar baz", "/root", "box"]


def test_default_capabilities(run):
    r = run(["grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status"])
    values = {line.split(":")[0]: int(line.split()[1], 16) for line in r.stdout.splitlines()}
    default = capabilities.mask(capabilities.numbers(capabilities.DOCKER_DEFAULT))
    assert values == {"CapEff": default, "CapPrm": default, "CapBnd": default}


def test_non_root_user_has_no_effective_caps(run):
    r = run(["grep", "^CapEff", "/proc/self/status"], user="nobody")
    assert int(r.stdout.split()[1], 16) == 0


def test_drop_net_raw_breaks_ping(run):
    caps = [c for c in capabilities.DOCKER_DEFAULT if c != "NET_RAW"]
    ok = run(sh("ping -c1 -W2 127.0.0.1"))
    assert ok.status.exit_code == 0, ok.stderr
    r = run(sh("ping -c1 -W2 127.0.0.1"), capabilities=caps)
    assert r.status.exit_code != 0


def test_bind_mounts_rw_ro_and_created_destination(run, tmp_path):
    rw = tmp_path / "rw"
    ro = tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f").write_text("inside\n")
    r = run(sh("echo written > /data/rw/out && cat /ro/f && (echo x > /ro/g) 2>/dev/null || echo RO-REFUSED"),
            mounts=[Mount(str(rw), "/data/rw"), Mount(str(ro), "/ro", writable=False)])
    assert r.stdout.splitlines() == ["inside", "RO-REFUSED"]
    assert (rw / "out").read_text() == "written\n"
    assert not (ro / "g").exists()


def test_bind_mount_file(run, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1 special\n")
    r = run(["cat", "/etc/hosts"], mounts=[Mount(str(hosts), "/etc/hosts", writable=False)])
    assert r.stdout == "10.0.0.1 special\n"


def test_bind_mount_destination_escaping_rootfs_is_refused(driver, busybox_rootfs, cgroup_parent, tmp_path):
    src = tmp_path / "vol"
    src.mkdir()
    link = os.path.join(busybox_rootfs, "escape")
    os.symlink("../../../../../../../../tmp", link)
    try:
        cmd = make_command(busybox_rootfs, ["true"], cgroup_parent, mounts=[Mount(str(src), "/escape/x")])
        with pytest.raises(ExecError, match="outside the container rootfs"):
            asyncio.run(run_capture(driver, cmd))
    finally:
        os.unlink(link)


def test_readonly_rootfs(run):
    r = run(sh("touch /x 2>/dev/null || echo RO; touch /dev/shm/y && echo SHM-RW"), readonly_rootfs=True)
    assert r.stdout.split() == ["RO", "SHM-RW"]


def test_device_node(run):
    from pyctr.engine.execdriver.driver import Device

    r = run(sh("ls -l /dev/mynull; echo hi > /dev/mynull && echo OK"),
            devices=[Device("/dev/null", "/dev/mynull")])
    assert r.stdout.startswith("crw-rw-rw-") and "OK" in r.stdout


def test_dev_contents(run):
    r = run(sh("ls /dev; readlink /dev/ptmx; grep devpts /proc/mounts"))
    names = r.stdout.split()
    for n in ("null", "zero", "full", "random", "urandom", "tty", "console", "pts", "shm", "mqueue",
              "fd", "stdin", "stdout", "stderr", "ptmx"):
        assert n in names
    assert "pts/ptmx" in r.stdout and "ptmxmode=666" in r.stdout


def test_tty(driver, busybox_rootfs, cgroup_parent):
    cmd = make_command(busybox_rootfs, sh("test -t 0 && test -t 1 && echo ISATTY; tty"), cgroup_parent, tty=True)
    master: list[int] = []

    async def created(sp: StartedProcess):
        master.append(sp.console_fd)

    status = asyncio.run(driver.run(cmd, Stdio(), created))
    assert status.exit_code == 0
    out = b""
    os.set_blocking(master[0], False)
    try:
        while chunk := os.read(master[0], 4096):
            out += chunk
    except (BlockingIOError, OSError):   # EIO once the slave side is gone
        pass
    finally:
        os.close(master[0])
    assert out.replace(b"\r", b"").split(b"\n")[:2] == [b"ISATTY", b"/dev/console"]


def test_pause_unpause_and_pids(driver, busybox_rootfs, cgroup_parent):
    async def main():
        c = await start_background(
            driver, make_command(busybox_rootfs, sh("sleep 30 & sleep 31; wait"), cgroup_parent))
        try:
            await asyncio.sleep(0.1)
            pids = driver.pids(c.cmd.id)
            assert c.started.pid in pids and len(pids) == 3
            driver.pause(c.cmd.id)
            freezer = [d for d in cgroup_dirs_named(cgroup_parent) if "freezer" in d][0]
            with open(os.path.join(freezer, c.cmd.id, "freezer.state")) as f:
                assert f.read().strip() == "FROZEN"
            driver.unpause(c.cmd.id)
            with open(os.path.join(freezer, c.cmd.id, "freezer.state")) as f:
                assert f.read().strip() == "THAWED"
        finally:
            driver.kill(c.cmd.id, signal.SIGKILL)
        return await c.task

    assert asyncio.run(main()).exit_code == 137


def test_terminate_from_a_fresh_driver(driver, busybox_rootfs, cgroup_parent, tmp_path):
    async def main():
        c = await start_background(driver, make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent))
        # A daemon that restarted: a new driver on the same state dir, no memory of the run.
        fresh = NativeDriver(root=driver.root)
        assert fresh.pids(c.cmd.id) == [c.started.pid]
        fresh.pause(c.cmd.id)   # terminate must work on a frozen container too
        fresh.terminate(c.cmd.id)
        assert fresh.pids(c.cmd.id) == []
        return await c.task

    assert asyncio.run(main()).exit_code == 137
    fresh = NativeDriver(root=driver.root)
    fresh.terminate(new_id())   # nothing there: a no-op


def test_missing_rootfs_is_exec_error_and_leaves_nothing(driver, cgroup_parent, tmp_path):
    cmd = make_command(str(tmp_path / "nope"), ["true"], cgroup_parent)
    with pytest.raises(ExecError, match="rootfs"):
        asyncio.run(run_capture(driver, cmd))
    assert not any(os.path.exists(os.path.join(d, cmd.id)) for d in cgroup_dirs_named(cgroup_parent))


def test_setup_failure_is_exec_error_with_reason(driver, busybox_rootfs, cgroup_parent, tmp_path):
    # The bind source vanishes between the daemon's checks and the mount: the init reports it.
    cmd = make_command(busybox_rootfs, ["true"], cgroup_parent, mounts=[Mount(str(tmp_path / "gone"), "/gone")])
    with pytest.raises(ExecError, match="gone"):
        asyncio.run(run_capture(driver, cmd))
    assert not any(os.path.exists(os.path.join(d, cmd.id)) for d in cgroup_dirs_named(cgroup_parent))


def test_on_created_failure_kills_container(driver, busybox_rootfs, cgroup_parent):
    async def created(sp):
        raise RuntimeError("network setup failed")

    cmd = make_command(busybox_rootfs, ["sleep", "30"], cgroup_parent)
    with pytest.raises(RuntimeError, match="network setup failed"):
        asyncio.run(run_capture(driver, cmd, created))


def test_memory_limit_applied(run, cgroup_parent):
    seen = {}

    async def created(sp):
        mem = [d for d in cgroup_dirs_named(cgroup_parent) if d.startswith("/sys/fs/cgroup/memory")][0]
        for f in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            with open(os.path.join(mem, cmd_id[0], f)) as fh:
                seen[f] = int(fh.read())

    cmd_id = [new_id()]
    r = run(["true"], on_created=created, id=cmd_id[0],
            resources=Resources(memory=64 << 20, cpu_shares=512))
    assert r.status.exit_code == 0
    assert seen == {"memory.limit_in_bytes": 64 << 20, "memory.memsw.limit_in_bytes": 128 << 20}


def test_oom_killed(run):
    # 8 MiB with no extra swap; the shell grows a string until the kernel kills it.
    r = run(sh("x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"),
            resources=Resources(memory=8 << 20, memory_swap=8 << 20))
    assert r.status.exit_code == 137
    assert r.status.oom_killed


def test_default_cgroup_parent_is_the_daemons_own(driver, busybox_rootfs):
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.strip().split(":", 2)
            for c in ctrls.split(","):
                own[c] = path
    found = {}

    async def created(sp):
        with open(f"/proc/{sp.pid}/cgroup") as f:
            for line in f:
                _, ctrls, path = line.strip().split(":", 2)
                found[ctrls] = path

    cmd = make_command(busybox_rootfs, ["true"], "")
    asyncio.run(run_capture(driver, cmd, created))
    assert found["memory"] == os.path.join(own["memory"], cmd.id)
    assert found["freezer"] == os.path.join(own["freezer"], cmd.id)


def test_cgroup_v2_forced_tracking(tmp_path, busybox_rootfs, cgroup_parent, driver):
    v2 = NativeDriver(root=str(tmp_path / "state"), cgroup_driver="v2")
    seen = {}

    async def main():
        c = await start_background(v2, make_command(busybox_rootfs, sh("sleep 30 & wait"), cgroup_parent))
        try:
            await asyncio.sleep(0.05)
            with open(f"/proc/{c.started.pid}/cgroup") as f:
                seen["cgroup"] = [line.strip() for line in f if line.startswith("0::")][0]
            seen["pids"] = v2.pids(c.cmd.id)
            v2.pause(c.cmd.id)
            with open(f"/sys/fs/cgroup/unified/{cgroup_parent}/{c.cmd.id}/cgroup.events") as f:
                seen["frozen"] = "frozen 1" in f.read()
            v2.unpause(c.cmd.id)
        finally:
            NativeDriver(root=v2.root, cgroup_driver="v2").terminate(c.cmd.id)
        seen["status"] = await c.task
        seen["id"] = c.cmd.id

    asyncio.run(main())
    assert seen["cgroup"] == f"0::/{cgroup_parent}/{seen['id']}"
    assert len(seen["pids"]) == 2
    assert seen["frozen"]
    assert seen["status"].exit_code == 137
    assert not os.path.exists(f"/sys/fs/cgroup/unified/{cgroup_parent}/{seen['id']}")
