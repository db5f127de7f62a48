"""The native exec driver: containers on the kernel through pyctr's libcontainer.

How a start goes (never forking the threaded daemon):

  run()                       helper (python -I -S)         container init (pid 1)
  create cgroup, pipes
  spawn helper  ───────────▶  join cgroup, unshare,
                              fork ─────────────────────▶  mounts, pivot_root,
                  ◀── pid ──  exit                          hostname, user, caps
                  ◀──────────────────────────── ready ──
  on_created(pid)                                           blocks on release pipe
  release ──────────────────────────────────────────────▶  execve(user command)
  wait: pidfd readable, waitpid (the daemon is a child subreaper, so the
  orphaned init is reparented to it), destroy cgroup, ExitStatus

Setup failures come back over the report pipe and become ExecError; nothing of
the container (cgroup, process) is left then.

With a keeper (`keeper_dir`, what pyctrd uses): the helper is forked by the keeper
(libcontainer/keeper.py) instead, so the init is the keeper's, not the daemon's: it
survives the daemon, the keeper reaps it and reports its exit code, and keeps a copy
of the daemon's stdio ends. A new daemon finds it again with `restore`.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import marshal
import os
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from typing import Callable

from ..libcontainer import capabilities, cgroups, console, devices, namespaces, seccomp, syscalls
from ..libcontainer.cgroups import CgroupConfig, CgroupError, CgroupManager, CgroupUsage, DeviceRule
from ..libcontainer.exec_helper import ExecSpec
from ..libcontainer.spec import BindMount, ContainerSpec, DeviceNode
from .driver import (Command, Confinement, ExecCommand, ExecDriver, ExecError, ExitStatus, OnCreated,
                     ProcessConfig, Resources, Restored, StartedProcess, Stdio)
from .keeper import KeeperClient

log = logging.getLogger(__name__)

INIT_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "libcontainer", "init.py")
DEFAULT_ROOT = "/run/pyctr/execdriver/native"


@dataclass
class _Active:
    pid: int
    pidfd: int
    cgroup: CgroupManager


@dataclass
class _Reports:
    pid: int | None = None
    ready: bool = False
    error: str = ""


async def _seccomp_program(confinement: Confinement, caps: list[int], privileged: bool) -> bytes:
    """The compiled program for a container's profile and bounding set (b"" = none):
    from the daemon's cache, compiled in a thread the first time."""
    if privileged or confinement.seccomp_profile == seccomp.UNCONFINED:
        return b""
    return await seccomp.PROGRAMS.program_async(confinement.seccomp_profile, caps)


class NativeDriver(ExecDriver):
    name = "native-0.2"

    def __init__(self, root: str = DEFAULT_ROOT, cgroup_driver: str | None = None,
                 keeper_dir: str | None = None):
        """`root` keeps one state file per running container (for a daemon restarted
        after a crash); `cgroup_driver` "v1"/"v2" forces a cgroup version (else
        $PYCTR_CGROUP_DRIVER, else v1 when its hierarchies are mounted); `keeper_dir`:
        start containers through the keeper listening there (live restore)."""
        self.root = root
        self.keeper = KeeperClient(keeper_dir, INIT_SCRIPT) if keeper_dir else None
        self.live_restore = self.keeper is not None
        self._detached = False
        os.makedirs(root, 0o700, exist_ok=True)
        self.cgroup_driver = cgroups.choose_driver(cgroup_driver)
        # Container inits are orphaned when their helper exits; as a subreaper the
        # daemon inherits them and can wait for them without a thread per container.
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
        self._active: dict[str, _Active] = {}
        # Exec starts given up on and reaps under way: settle() waits for them.
        self._pending: set[asyncio.Future] = set()

    def info(self) -> list[tuple[str, str]]:
        return [("Execution Driver", self.name), ("Cgroup Driver", f"cgroup{self.cgroup_driver}")]

    # ---- start and wait ----------------------------------------------------

    async def run(self, cmd: Command, stdio: Stdio, on_created: OnCreated) -> ExitStatus:
        self._state_path(cmd.id)   # validates the id
        if cmd.id in self._active:
            raise ExecError(f"container {cmd.id} is already running")
        if not os.path.isdir(cmd.rootfs):
            raise ExecError(f"rootfs {cmd.rootfs} does not exist or is not a directory")
        try:
            caps = self._capabilities(cmd.id, cmd.capabilities, cmd.privileged)
            device_nodes = [devices.from_host(d.path_on_host, d.path_in_container) for d in cmd.devices]
            # Privileged: every host device too (as Docker); the explicit ones win on a clash.
            extra_nodes = devices.host_nodes() if cmd.privileged else []
            seccomp_filter = await _seccomp_program(cmd.confinement, caps, cmd.privileged)
        except (capabilities.CapabilityError, devices.DeviceError, seccomp.ProfileError) as e:
            raise ExecError(str(e)) from None
        if cmd.network.mode not in namespaces.NET_MODES:
            raise ExecError(f"unknown network mode {cmd.network.mode!r}")
        if cmd.network.mode == "container" and not os.path.exists(f"/proc/{cmd.network.join_pid}/ns/net"):
            raise ExecError(f"cannot join the network of pid {cmd.network.join_pid}: no such process")

        master = slave = None
        slave_path = ""
        if cmd.process.tty:
            master, slave, slave_path = console.open_pty()
        iso = cmd.isolation
        try:
            cgroup = cgroups.new(self._cgroup_config(cmd, device_nodes, slave), self.cgroup_driver)
        except ExecError:
            for fd in (master, slave):
                if fd is not None:
                    os.close(fd)
            raise
        try:
            for warning in cgroup.create():
                log.warning("container %s: %s", cmd.id[:12], warning)
        except CgroupError as e:
            for fd in (master, slave):
                if fd is not None:
                    os.close(fd)
            raise ExecError(str(e)) from None

        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        release_r, release_w = os.pipe2(os.O_CLOEXEC)
        to_close = {report_r, report_w, release_r, release_w}
        if slave is not None:
            to_close.add(slave)
        master_handed_over = False
        helper: asyncio.subprocess.Process | None = None
        pid: int | None = None
        pidfd: int | None = None
        try:
            self._save_state(cmd.id, None, cgroup)   # so a restarted daemon finds the cgroup
            spec = ContainerSpec(
                id=cmd.id, rootfs=cmd.rootfs, hostname=cmd.hostname, args=cmd.process.args,
                env=cmd.process.env, cwd=cmd.process.cwd or "/", user=cmd.process.user,
                tty=cmd.process.tty, console_path=slave_path,
                mounts=[BindMount(source=m.source, destination=m.destination,
                                  writable=m.writable, private=m.private, kind=m.kind,
                                  data=m.data, propagation=m.propagation) for m in cmd.mounts],
                devices=extra_nodes + device_nodes, capabilities=caps, privileged=cmd.privileged,
                readonly_rootfs=cmd.readonly_rootfs, net_mode=cmd.network.mode,
                net_join_pid=cmd.network.join_pid, cgroup_procs=cgroup.procs_files(),
                report_fd=report_w, release_fd=release_r,
                cgroup_mounts=[[host, name] for host, name in cgroup.visible_mounts()],
                seccomp_filter=seccomp_filter, no_new_privileges=cmd.confinement.no_new_privileges,
                pid_join=iso.pid_join, pid_host=iso.pid_host, ipc_join=iso.ipc_join,
                ipc_host=iso.ipc_host, uts_host=iso.uts_host, shm_source=iso.shm_source,
                shm_size=iso.shm_size, sysctls=[list(kv) for kv in iso.sysctls],
                ulimits=[list(u) for u in iso.process.ulimits], oom_score_adj=iso.process.oom_score_adj,
                group_add=list(iso.process.group_add))
            stdin, stdout, stderr = self._stdio(cmd.process, stdio)
            if self.keeper is not None:
                await self._spawn_kept(cmd, spec, stdio, (stdin, stdout, stderr), master)
            else:
                helper = await asyncio.create_subprocess_exec(
                    sys.executable, "-I", "-S", INIT_SCRIPT, spec.encode(),
                    stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=(report_w, release_r))
            for fd in (report_w, release_r):
                os.close(fd)
                to_close.discard(fd)

            reports = await self._read_reports(report_r)
            if helper is not None:
                await helper.wait()
            pid = reports.pid
            if reports.error or not reports.ready or pid is None:
                status = f" (helper exit status {helper.returncode})" if helper is not None else ""
                raise ExecError(reports.error or f"container init died during setup{status}")
            pidfd = os.pidfd_open(pid)
            self._active[cmd.id] = _Active(pid, pidfd, cgroup)
            self._save_state(cmd.id, pid, cgroup)
            if slave is not None:
                os.close(slave)   # the init has the console open by now
                to_close.discard(slave)

            master_handed_over = True   # the caller owns it from on_created on
            await on_created(StartedProcess(pid=pid, console_fd=master))

            try:
                os.write(release_w, b"\x01")
            except BrokenPipeError:
                pass   # killed from on_created before its release: its exit status follows
            if self.keeper is not None:
                exit_code = (await self.keeper.wait(pid, _start_time_cached(self._load_state(cmd.id)))).code
            else:
                exit_code = await self._wait_exit(pid, pidfd)
            pid = None   # reaped
            return ExitStatus(exit_code=exit_code, oom_killed=cgroup.oom_killed())
        except asyncio.CancelledError:
            if self._detached:   # the daemon leaves; the container stays (live restore)
                self._active.pop(cmd.id, None)
                if pidfd is not None:
                    os.close(pidfd)
                for fd in to_close:
                    os.close(fd)
                to_close.clear()
                pid = pidfd = None
                cgroup = None
            raise
        finally:
            if helper is not None and helper.returncode is None:
                try:
                    helper.kill()
                except ProcessLookupError:
                    pass
                await helper.wait()
            if pid is not None and self.keeper is not None:
                await self._kill_kept(cmd.id, pid)
                pid = None
            self._release(pid, pidfd, to_close, None if master_handed_over else master)
            if cgroup is not None:   # None: detached, the container runs on
                self._active.pop(cmd.id, None)
                try:
                    cgroup.destroy()
                except (CgroupError, OSError) as e:
                    log.error("container %s: removing cgroup: %s", cmd.id[:12], e)
                if self.keeper is None:
                    self._remove_state(cmd.id)
                elif not master_handed_over:   # never ran: nothing for the daemon to record
                    await self.forget(cmd.id)

    # ---- through the keeper (live restore) -----------------------------------

    async def _spawn_kept(self, cmd: Command, spec: ContainerSpec, stdio: Stdio,
                          child_stdio: tuple[int, int, int], master: int | None) -> None:
        """Have the keeper fork the helper: fds 0-2 its stdio, 3 report, 4 release."""
        report_w, release_r = spec.report_fd, spec.release_fd
        spec.report_fd, spec.release_fd = 3, 4
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            child = [devnull if fd == subprocess.DEVNULL else fd for fd in child_stdio]
            held = dict(stdio.daemon_ends)
            if master is not None:
                held["console"] = master
            await self.keeper.spawn(cmd.id, [spec.encode()], child + [report_w, release_r], held)
        finally:
            os.close(devnull)
            spec.report_fd, spec.release_fd = report_w, release_r

    async def _kill_kept(self, container_id: str, pid: int) -> None:
        """Kill an init of the keeper's that failed in setup, and let the keeper forget it."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(self.keeper.wait(pid, None), 10)
        except asyncio.TimeoutError:
            log.error("container %s: init %d did not die on SIGKILL", container_id[:12], pid)
        await self.keeper.forget(container_id, pid)
        self._remove_state(container_id)

    async def open(self) -> None:
        if self.keeper is not None:
            await self.keeper.open()
            log.info("keeper pid %d (%s)", self.keeper.pid, self.keeper.path)
        # Nothing starts before open: a state without a pid is a start whose daemon died
        # before the container's process existed, so there is nothing to keep or adopt.
        for name in os.listdir(self.root):
            if name.endswith(".json"):
                state = self._load_state(name[:-5])
                if not (state and state.get("pid")):
                    self._remove_state(name[:-5])

    def live(self) -> set[str]:
        out = set()
        for name in os.listdir(self.root):
            if name.endswith(".json"):
                state = self._load_state(name[:-5])
                if state and state.get("pid"):   # running, or exited with the keeper's record of it
                    out.add(name[:-5])
        return out

    async def restore(self, container_id: str) -> Restored | None:
        if self.keeper is None:
            return None
        state = self._load_state(container_id)
        pid = state and state.get("pid")
        if not pid:
            return None
        started = state.get("start_time")
        fds = await self.keeper.fds(container_id)
        cgroup = cgroups.load(state["cgroup"])
        exit = self.keeper.exit_of(pid, started)
        if exit is None and _start_time(pid) != started:
            # Gone, and not reaped by this keeper (it was restarted): the code is lost.
            log.error("container %s: init %d is gone and its exit code with it", container_id[:12], pid)
            return Restored(pid, fds, ExitStatus(exit_code=137))
        if exit is not None:
            return Restored(pid, fds, ExitStatus(exit_code=exit.code, oom_killed=_oom(cgroup)))
        self._active[container_id] = _Active(pid, os.pidfd_open(pid), cgroup)
        return Restored(pid, fds, None)

    async def resume(self, container_id: str) -> ExitStatus:
        active = self._active.get(container_id)
        if active is None or self.keeper is None:
            raise ExecError(f"container {container_id[:12]} was not restored")
        state = self._load_state(container_id) or {}
        detached = False
        try:
            exit = await self.keeper.wait(active.pid, state.get("start_time"))
            return ExitStatus(exit_code=exit.code, oom_killed=_oom(active.cgroup))
        except asyncio.CancelledError:
            detached = self._detached
            raise
        finally:
            self._active.pop(container_id, None)
            os.close(active.pidfd)
            if not detached:
                try:
                    active.cgroup.destroy()
                except (CgroupError, OSError) as e:
                    log.error("container %s: removing cgroup: %s", container_id[:12], e)

    async def forget(self, container_id: str) -> None:
        if self.keeper is None:
            return
        state = self._load_state(container_id) or {}
        try:
            await self.keeper.forget(container_id, state.get("pid") or 0)
        finally:   # a container the keeper never got (a daemon killed mid-spawn) is forgotten too
            self._remove_state(container_id)

    async def close(self) -> None:
        """Without live restore nothing outlives the daemon, so neither does the keeper: its
        containers are stopped by now, and what it still holds (exit records, stdio copies)
        no next daemon will ask for."""
        if self.keeper is None or not self.keeper.pid:
            return
        pid = self.keeper.pid
        self.keeper.close()
        if _children_of(pid):   # a container it still parents keeps it (and its exit code)
            log.warning("the keeper (pid %d) still parents processes %s: left running", pid,
                        _children_of(pid))
            return
        try:
            os.kill(pid, signal.SIGKILL)   # it ignores SIGTERM: it is made to outlive daemons
        except ProcessLookupError:
            return
        for _ in range(100):   # it is our child (we are a subreaper): reap it
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:   # not ours: gone is all we can see
                if not os.path.exists(f"/proc/{pid}"):
                    return
            await asyncio.sleep(0.02)
        log.warning("the keeper (pid %d) did not exit", pid)

    async def close_stdin(self, container_id: str) -> None:
        if self.keeper is not None:
            await self.keeper.drop(container_id, "stdin")

    def detach(self) -> None:
        self._detached = True

    async def exec(self, cmd: ExecCommand, stdio: Stdio,
                   on_started: Callable[[StartedProcess], None]) -> ExitStatus:
        active = self._active.get(cmd.container_id)
        if active is None:
            raise ExecError(f"container {cmd.container_id[:12]} is not running")
        try:
            caps = self._capabilities(cmd.container_id, cmd.capabilities, cmd.privileged)
            seccomp_filter = await _seccomp_program(cmd.confinement, caps, cmd.privileged)
        except (capabilities.CapabilityError, seccomp.ProfileError) as e:
            raise ExecError(str(e)) from None
        master = slave = None
        if cmd.process.tty:
            try:
                master, slave = console.open_pty_in(f"/proc/{active.pid}/root")
            except OSError as e:
                raise ExecError(f"cannot allocate a terminal in the container: {e}") from None
        pid = pidfd = None
        master_handed_over = False
        to_close = {slave} if slave is not None else set()
        try:
            if master is not None and cmd.process.console_size:   # resized before it started
                rows, columns = cmd.process.console_size
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            spec = ExecSpec(container_pid=active.pid, args=cmd.process.args, env=cmd.process.env,
                            cwd=cmd.process.cwd or "/", user=cmd.process.user, tty=cmd.process.tty,
                            capabilities=caps, cgroup_procs=active.cgroup.procs_files(),
                            report_fd=-1, container_id=cmd.container_id,
                            seccomp_filter=seccomp_filter,
                            no_new_privileges=cmd.confinement.no_new_privileges,
                            ulimits=[list(u) for u in cmd.settings.ulimits],
                            oom_score_adj=cmd.settings.oom_score_adj,
                            group_add=list(cmd.settings.group_add))
            # With a tty the exec'd process gets the pty slave as stdio (and as
            # its controlling terminal); the container's init opens its own console.
            stdio_fds = (slave,) * 3 if slave is not None else self._stdio(cmd.process, stdio)
            # The start runs to its end even when the caller gives up on the exec meanwhile
            # (a healthcheck stopped, a client gone): the process it makes lives in the
            # container's pid namespace as our child, and one never reaped would keep the
            # container's init from ever finishing its exit. So it gets its own copies of
            # the stdio ends, and what it started is ended (_end_spawned) once it is done.
            spawning = asyncio.ensure_future(self._spawn_exec(spec, _dup_fds(stdio_fds)))
            try:
                pid = await asyncio.shield(spawning)
            except asyncio.CancelledError:
                if not spawning.done():
                    self._pending.add(spawning)
                    spawning.add_done_callback(self._pending.discard)
                    spawning.add_done_callback(self._end_spawned)
                raise
            pidfd = os.pidfd_open(pid)
            if slave is not None:
                os.close(slave)
                to_close.discard(slave)
            master_handed_over = True
            on_started(StartedProcess(pid=pid, console_fd=master))
            exit_code = await self._wait_exit(pid, pidfd)
            pid = None
            return ExitStatus(exit_code=exit_code)
        finally:
            self._release(pid, pidfd, to_close, None if master_handed_over else master)

    async def _spawn_exec(self, spec: ExecSpec, stdio_fds: tuple[int, int, int]) -> int:
        """Start an exec's helper and wait for its report: the exec'd process's pid.
        Owns `stdio_fds` (closes them)."""
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        spec.report_fd = report_w
        try:
            stdin, stdout, stderr = stdio_fds
            helper = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", INIT_SCRIPT, "exec", spec.encode(),
                stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=(report_w,))
            os.close(report_w)
            report_w = -1
            reports = await self._read_reports(report_r)
            await helper.wait()
            if reports.error or reports.pid is None:
                if reports.pid is not None:
                    self._reap_later(reports.pid)
                raise ExecError(reports.error or f"exec helper exited with {helper.returncode}")
            return reports.pid
        finally:
            for fd in (report_r, report_w, *stdio_fds):
                if fd >= 0:
                    os.close(fd)

    def _end_spawned(self, spawning: asyncio.Future) -> None:
        """The exec's caller gave up while it started: kill what it started, reap it."""
        if not spawning.cancelled() and spawning.exception() is None:
            self._reap_later(spawning.result())

    def _reap_later(self, pid: int) -> None:
        """SIGKILL our child `pid` and reap it once it is gone, without blocking the loop
        (a process in a frozen cgroup dies only when thawed)."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:   # reaped already
            return
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        loop = asyncio.get_running_loop()
        reaped = loop.create_future()
        self._pending.add(reaped)

        def gone() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            reaped.set_result(None)
            self._pending.discard(reaped)

        loop.add_reader(pidfd, gone)

    async def settle(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self._pending and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._pending), timeout=left)
        if self._pending:
            log.error("%d exec processes were not reaped before the daemon went", len(self._pending))

    def _release(self, pid: int | None, pidfd: int | None, fds: set[int], master: int | None) -> None:
        """After a start or an exec: kill a process not yet reaped, close what is ours."""
        if pid is not None:
            self._reap_later(pid)
        for fd in fds | ({master, pidfd} - {None}):
            os.close(fd)

    @staticmethod
    def _stdio(process: ProcessConfig, stdio: Stdio) -> tuple[int, int, int]:
        if process.tty:   # the init opens its console itself
            return subprocess.DEVNULL, subprocess.DEVNULL, subprocess.DEVNULL
        stdin = stdio.stdin if process.stdin and stdio.stdin is not None else subprocess.DEVNULL
        stdout = stdio.stdout if stdio.stdout is not None else subprocess.DEVNULL
        stderr = stdio.stderr if stdio.stderr is not None else subprocess.DEVNULL
        return stdin, stdout, stderr

    @staticmethod
    def _capabilities(container_id: str, names: list[str] | None, privileged: bool) -> list[int]:
        held = capabilities.held_by_self()
        if privileged:
            missing = [c for c in range(capabilities.last_cap() + 1) if not held >> c & 1]
            if missing:
                log.warning("privileged container %s: the daemon lacks %s, so the container does too",
                            container_id[:12], ", ".join(capabilities.names_of(capabilities.mask(missing))))
            return [c for c in range(64) if held >> c & 1]
        return capabilities.numbers(names if names is not None else capabilities.DOCKER_DEFAULT)

    @staticmethod
    def _cgroup_config(cmd: Command, nodes: list[DeviceNode], console_slave: int | None) -> CgroupConfig:
        rules = [DeviceRule(*r) for r in devices.DEFAULT_ALLOWED]
        rules += [DeviceRule(n.kind, n.major, n.minor, d.permissions) for n, d in zip(nodes, cmd.devices)]
        if console_slave is not None:
            rdev = os.fstat(console_slave).st_rdev
            rules.append(DeviceRule("c", os.major(rdev), os.minor(rdev), "rwm"))
        rules += [DeviceRule(*r) for r in cmd.device_rules]
        return cgroup_limits(cmd.id, cmd.resources, cmd.cgroup_parent, allow_all_devices=cmd.privileged,
                             devices=rules)

    @staticmethod
    async def _read_reports(fd: int) -> _Reports:
        """Collect the helper's and the init's messages until pid+ready, or EOF."""
        loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        out, buf = _Reports(), b""
        while not (out.pid is not None and out.ready):
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                readable = loop.create_future()
                loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
                try:
                    await readable
                finally:
                    loop.remove_reader(fd)
                continue
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "little"):
                size = int.from_bytes(buf[:4], "little")
                msg, buf = marshal.loads(buf[4:4 + size]), buf[4 + size:]
                out.pid = msg.get("pid", out.pid)
                out.ready = out.ready or bool(msg.get("ready"))
                out.error = out.error or msg.get("error", "")
        return out

    @staticmethod
    async def _wait_exit(pid: int, pidfd: int) -> int:
        loop = asyncio.get_running_loop()
        exited = loop.create_future()
        loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            log.error("container init %d was reaped by someone else; exit status lost", pid)
            return 255
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    # ---- state, for a daemon that restarts -----------------------------------

    def _state_path(self, container_id: str) -> str:
        if not container_id or "/" in container_id or container_id.startswith("."):
            raise ExecError(f"invalid container id {container_id!r}")
        return os.path.join(self.root, container_id + ".json")

    def _save_state(self, container_id: str, pid: int | None, cgroup: CgroupManager) -> None:
        state = {"pid": pid, "start_time": _start_time(pid) if pid else None, "cgroup": cgroup.state()}
        tmp = self._state_path(container_id) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self._state_path(container_id))

    def _load_state(self, container_id: str) -> dict | None:
        try:
            with open(self._state_path(container_id)) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _remove_state(self, container_id: str) -> None:
        try:
            os.unlink(self._state_path(container_id))
        except FileNotFoundError:
            pass

    def _cgroup(self, container_id: str) -> CgroupManager | None:
        active = self._active.get(container_id)
        if active is not None:
            return active.cgroup
        state = self._load_state(container_id)
        if state is not None:
            return cgroups.load(state["cgroup"])
        # No record (e.g. the daemon died before writing it): look where a container
        # with the default cgroup_parent would be.
        guess = cgroups.new(CgroupConfig(name=container_id), self.cgroup_driver)
        return guess if guess.exists() else None

    # ---- the rest of the interface -------------------------------------------

    def kill(self, container_id: str, sig: int) -> None:
        active = self._active.get(container_id)
        if active is not None:
            try:
                signal.pidfd_send_signal(active.pidfd, sig)
            except ProcessLookupError:
                pass
            return
        state = self._load_state(container_id)
        pid = state and state.get("pid")
        if not pid or _start_time(pid) != state.get("start_time"):
            raise ExecError(f"container {container_id} is not running")
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            raise ExecError(f"container {container_id} is not running") from None

    def update(self, container_id: str, resources: Resources) -> list[str]:
        cgroup = self._require_cgroup(container_id)
        try:
            return cgroup.update(cgroup_limits(container_id, resources))
        except (CgroupError, OSError) as e:
            raise ExecError(f"Cannot update container {container_id[:12]}: {e}") from None

    def pause(self, container_id: str) -> None:
        try:
            self._require_cgroup(container_id).freeze()
        except (CgroupError, OSError) as e:
            raise ExecError(f"pause {container_id}: {e}") from None

    def unpause(self, container_id: str) -> None:
        try:
            self._require_cgroup(container_id).thaw()
        except (CgroupError, OSError) as e:
            raise ExecError(f"unpause {container_id}: {e}") from None

    def pids(self, container_id: str) -> list[int]:
        cgroup = self._cgroup(container_id)
        return cgroup.pids() if cgroup is not None else []

    def stats(self, container_id: str) -> CgroupUsage:
        try:
            return self._require_cgroup(container_id).usage()
        except (CgroupError, FileNotFoundError):
            raise ExecError(f"container {container_id} is not running") from None

    def terminate(self, container_id: str) -> None:
        cgroup = self._cgroup(container_id)
        if cgroup is not None:
            try:
                cgroup.destroy()
            except CgroupError as e:
                raise ExecError(str(e)) from None
        if container_id not in self._active and self.keeper is None:
            self._remove_state(container_id)   # run() removes its own; with a keeper, forget() does

    def _require_cgroup(self, container_id: str) -> CgroupManager:
        cgroup = self._cgroup(container_id)
        if cgroup is None:
            raise ExecError(f"container {container_id} is not running")
        return cgroup


def _block_devices(devices: list[tuple[str, int]]) -> list[tuple[int, int, int]]:
    out = []
    for path, value in devices:
        try:
            rdev = os.stat(path).st_rdev
        except OSError as e:
            raise ExecError(f"block device {path}: {e.strerror}") from None
        out.append((os.major(rdev), os.minor(rdev), value))
    return out


def cgroup_limits(name: str, r: Resources, parent: str = "", **more) -> CgroupConfig:
    """The cgroup config of a container's resources (block devices resolved to numbers)."""
    return CgroupConfig(name=name, parent=parent, memory=r.memory, memory_swap=r.memory_swap,
                        cpu_shares=r.cpu_shares, cpuset=r.cpuset, pids_limit=r.pids_limit,
                        memory_reservation=r.memory_reservation, memory_swappiness=r.memory_swappiness,
                        oom_kill_disable=r.oom_kill_disable, cpu_period=r.cpu_period,
                        cpu_quota=r.cpu_quota, cpuset_mems=r.cpuset_mems, blkio_weight=r.blkio_weight,
                        blkio_weight_devices=_block_devices(r.blkio_weight_devices),
                        read_bps=_block_devices(r.read_bps), write_bps=_block_devices(r.write_bps),
                        read_iops=_block_devices(r.read_iops), write_iops=_block_devices(r.write_iops),
                        **more)


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _dup_fds(fds: tuple[int, ...]) -> tuple[int, ...]:
    """Own copies of the fds among `fds` (subprocess.DEVNULL and the like stay as they are)."""
    return tuple(os.dup(fd) if fd >= 0 else fd for fd in fds)


def _start_time_cached(state: dict | None) -> int | None:
    return state.get("start_time") if state else None


def _oom(cgroup: CgroupManager) -> bool:
    try:
        return cgroup.oom_killed()
    except (CgroupError, OSError):
        return False


def _start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: tells a pid apart from a reused one."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
