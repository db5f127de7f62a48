"""The route table (engine/server/routes.py): no (method, path) twice, and every
route reaches its own handler, unversioned and under /vX.Y/ (HEAD too for a GET)."""

from __future__ import annotations

import asyncio
import re

from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from pyctr.engine.jobs import Engine
from pyctr.engine.server.app import build_app
from pyctr.engine.server.routes import ROUTES

PLACEHOLDER = re.compile(r"\{[a-z]+(?::(?:[^{}]|\{[^{}]*\})*)?\}")


def concrete(path: str) -> str:
    """A request path the route's pattern matches ("/containers/{name}/json" -> "/containers/x/json")."""
    return PLACEHOLDER.sub("x", path)


def test_no_route_twice():
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_every_route_reaches_its_handler():
    app = build_app(Engine())

    async def resolve(method: str, path: str):
        return (await app.router.resolve(make_mocked_request(method, path, app=app))).handler

    async def check() -> list[str]:
        wrong = []
        for route in ROUTES:
            methods = [route.method, "HEAD"] if route.method == "GET" else [route.method]
            for prefix in ("", "/v1.14", "/v1.24"):
                for method in methods:
                    path = prefix + concrete(route.path)
                    if await resolve(method, path) is not route.handler:
                        wrong.append(f"{method} {path}")
        return wrong

    assert asyncio.run(check()) == []


def test_every_route_answers_from_its_handler():
    """Over HTTP, with an engine that has no jobs: each route answers from its handler (a
    parse error, "no such job", or its own answer), never the router's 404/405."""

    async def check() -> list[str]:
        client = TestClient(TestServer(build_app(Engine())))
        await client.start_server()
        wrong = []
        try:
            for route in ROUTES:
                path = "/v1.24" + concrete(route.path)
                async with client.request(route.method, path, data=b"") as response:
                    text = await response.text()
                if "page not found" in text or "method not allowed" in text:
                    wrong.append(f"{route.method} {path}: {response.status} {text[:80]}")
        finally:
            await client.close()
        return wrong

    assert asyncio.run(check()) == []
