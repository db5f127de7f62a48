"""`GET /containers/{name}/stats`: a stream of JSON readings (Docker's shape), or
one with `stream=0`."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from ..daemon.stats import ContainerStatsArgs
from .router import engine_of
from .wire import flag, respond, shapes


async def stats(request: web.Request) -> web.StreamResponse:
    args = ContainerStatsArgs(request.match_info["name"], stream=flag(request, "stream", True),
                              empty_when_stopped=shapes(request).empty_stats_when_stopped())
    readings = await engine_of(request).run(args)
    if not args.stream:
        async for reading in readings:
            return respond(request, reading)
        return respond(request, {})  # stopped between the check and the reading
    shape = shapes(request)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        async for reading in readings:
            await response.write(json.dumps(shape.encode(reading)).encode() + b"\n")
    return response
