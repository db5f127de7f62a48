"""pyctr-tui with hundreds of containers and images: how long the first screen,
a full redraw of the list and of the image tree, and one event's update take.
The TUI is a client of the API, so it runs against both engines."""

from __future__ import annotations

import asyncio
import statistics
import time

from engines import BenchContext, Engine

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


def run(engine: Engine, ctx: BenchContext) -> dict:
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
