"""Lazily named handlers (server/lazy.py): a request that comes while the resource
modules are still being imported behind the answering socket waits for that import,
then answers from the real handler; /_ping never waits."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from pyctr.engine.jobs import Engine
from pyctr.engine.server import lazy
from pyctr.engine.server.app import build_app


def test_a_request_during_the_preload_waits_for_it():
    async def scenario() -> tuple[bool, int, int, bool]:
        client = TestClient(TestServer(build_app(Engine())))
        await client.start_server()
        loop = asyncio.get_running_loop()
        lazy._preloading = loop.create_future()   # as preload() sets it while importing
        try:
            pending = asyncio.create_task(client.get("/v1.41/pyctr/jobs"))
            ping = await client.get("/_ping")   # answers at once, preload or not
            await asyncio.sleep(0.05)
            waited = not pending.done()
            lazy._preloading.set_result(None)
            jobs = await pending
            return waited, ping.status, jobs.status, (await jobs.json()) == []
        finally:
            lazy._preloading = None
            await client.close()

    assert asyncio.run(scenario()) == (True, 200, 200, True)


def test_preload_imports_every_lazily_named_module():
    async def scenario() -> list[str]:
        await lazy.preload()
        import sys
        return [name for name in lazy._REGISTERED if name not in sys.modules]

    assert asyncio.run(scenario()) == []
    assert lazy._preloading is None
