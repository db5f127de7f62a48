"""`GET /_ping` once the app serves (before that, early.py answers it with the same
bytes); routes.py names it directly, so this module imports no more than aiohttp."""

from __future__ import annotations

from aiohttp import web

from .early import ping_headers


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers=ping_headers())
