"""Live restore (issue 17): an engine of the same kind with live restore on (pyctrd's
default, dockerd's `--live-restore`) runs N containers; then it is killed with
SIGKILL and started again on the same root. Measured: memory per running container
(the engine's own processes: pyctrd and its keeper; dockerd, containerd and the
shims), and the time from the restart until the engine answers with every container
adopted and running (timed from the new engine's launch: the kill and the wait for the
old processes to be gone are not part of it).

Memory is RSS (shared pages counted in each process), so a per-container figure is an
upper bound; pyctr's keeper is counted (it is what keeps the containers), and so are
dockerd's containerd and its one shim per container. Sizes and times vary by 10-30 %
from run to run on a loaded machine: compare ratios from the same run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from engines import Docker, Engine, Pyctr, import_busybox, rss_kib
from harness import DaemonProcess


def _running(engine: Engine) -> int:
    try:
        return len(engine.client().json("GET", "/containers/json"))
    except Exception:
        return -1


class _LivePyctr(Pyctr):
    def __init__(self, workdir: str) -> None:   # noqa: super: another flag set
        self.workdir = workdir
        self.daemon = DaemonProcess(workdir, ["--shutdown-timeout", "2", "--log-level", "warning",
                                              "--live-restore", "--bridge", "none"]).start()
        self.host = self.daemon.host
        self.pid = self.daemon.proc.pid

    def crash(self) -> None:
        self.daemon.kill()

    def restart(self) -> None:
        self.daemon.start()
        self.pid = self.daemon.proc.pid

    def kill_leftovers(self) -> None:
        """After a failed run: a daemon without live restore stops what a dead one left."""
        self.daemon.kill()
        cleaner = DaemonProcess(self.workdir, ["--live-restore=false", "--bridge", "none"])
        cleaner.start()
        cleaner.stop()


def _gone(pid: int) -> bool:
    """No process (not even a zombie) holds `pid`: dockerd takes a zombie containerd (here
    pid 1 reaps orphans late) for a live one and waits for its socket until it gives up."""
    return not os.path.exists(f"/proc/{pid}")


class _LiveDocker(Docker):
    ARGS = Docker.NETWORK_ARGS + ["--live-restore"]

    def __init__(self, workdir: str) -> None:
        super().__init__(workdir, self.ARGS)

    def crash(self) -> None:
        try:
            with open(os.path.join(self.workdir, "exec", "containerd", "containerd.pid")) as f:
                containerd = int(f.read().strip())
        except (OSError, ValueError):
            containerd = 0
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        deadline = time.monotonic() + 60
        while containerd and not _gone(containerd) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        Docker.__init__(self, self.workdir, self.ARGS)

    def kill_leftovers(self) -> None:
        """After a failed run: the shims of this data root and their containers (ours)."""
        shims = [p for p, _, args in _processes() if self.workdir in args and "shim" in args]
        for pid in shims:
            for child in _children(pid):
                _kill(child)
            _kill(pid)


def _processes() -> list[tuple[int, int, str]]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        pid, ppid, args = line.split(None, 2) + [""] * (3 - len(line.split(None, 2)))
        rows.append((int(pid), int(ppid), args))
    return rows


def _children(pid: int) -> list[int]:
    return [p for p, parent, _ in _processes() if parent == pid]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(engine: Engine, ctx) -> dict:
    count = 20 if ctx.quick else 100
    live = (_LivePyctr if isinstance(engine, Pyctr) else _LiveDocker)(
        os.path.join(ctx.workdir, f"restore-{engine.name}"))
    finished = False
    try:
        import_busybox(live, ctx.busybox)
        client = live.client()
        body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "NetworkDisabled": True,
                "HostConfig": {"NetworkMode": "none"}}
        before = live.memory_kib()
        for _ in range(count):
            cid = client.json("POST", "/containers/create", body=body)["Id"]
            client.call("POST", f"/containers/{cid}/start")
        after = live.memory_kib()
        pids_before = {c["Id"]: live.client().inspect_container(c["Id"])["State"]["Pid"]
                       for c in client.json("GET", "/containers/json")}
        live.crash()
        t0 = time.perf_counter()
        live.restart()
        while _running(live) != count and time.perf_counter() - t0 < 300:
            time.sleep(0.02)
        restart = time.perf_counter() - t0
        adopted = sum(live.client().inspect_container(cid)["State"]["Pid"] == pid
                      for cid, pid in pids_before.items())
        after_restart = live.memory_kib()
        for c in live.client().json("GET", "/containers/json", {"all": 1}):
            live.client().call("DELETE", f"/containers/{c['Id']}", {"force": 1})
        finished = True
    finally:
        if not finished:
            live.kill_leftovers()
        live.stop()
    return {f"restart_adopting_{count}_running_s": restart,
            f"adopted_same_pid_of_{count}": adopted,
            "memory_per_running_container_kib": (after - before) // count,
            f"memory_with_{count}_running_mib": after // 1024,
            f"memory_after_restart_with_{count}_running_mib": after_restart // 1024}
