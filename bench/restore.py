"""Live restore (issue 17): an engine of the same kind with live restore on (pyctrd's
default, dockerd's `--live-restore`) runs N containers; then it is killed with
SIGKILL and started again on the same root. Measured: memory per running container
(the engine's own processes: pyctrd and its keeper; dockerd, containerd and the
shims), and the time from the restart until the engine answers with every container
adopted and running."""

from __future__ import annotations

import os
import signal
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

    def crash_and_restart(self) -> None:
        self.daemon.kill()
        self.daemon.start()
        self.pid = self.daemon.proc.pid


class _LiveDocker(Docker):
    def __init__(self, workdir: str) -> None:
        super().__init__(workdir, Docker.NETWORK_ARGS + ["--live-restore"])

    def crash_and_restart(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        Docker.__init__(self, self.workdir, Docker.NETWORK_ARGS + ["--live-restore"])


def run(engine: Engine, ctx) -> dict:
    count = 20 if ctx.quick else 100
    live = (_LivePyctr if isinstance(engine, Pyctr) else _LiveDocker)(
        os.path.join(ctx.workdir, f"restore-{engine.name}"))
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
        t0 = time.perf_counter()
        live.crash_and_restart()
        while _running(live) != count and time.perf_counter() - t0 < 300:
            time.sleep(0.02)
        restart = time.perf_counter() - t0
        adopted = _running(live)
        for c in live.client().json("GET", "/containers/json", {"all": 1}):
            live.client().call("DELETE", f"/containers/{c['Id']}", {"force": 1})
    finally:
        live.stop()
    return {f"restart_adopting_{count}_running_s": restart, f"adopted_of_{count}": adopted,
            "memory_per_running_container_kib": (after - before) // count}

