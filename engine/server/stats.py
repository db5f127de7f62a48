"""`GET /containers/{name}/stats`: a stream of JSON readings (Docker's shape), or
one with `stream=0`."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from ..api.codec import to_api
from ..daemon.stats import ContainerStatsArgs
from .router import engine_of
from .wire import flag, respond, shapes


async def stats(request: web.Request) -> web.StreamResponse:
    args = ContainerStatsArgs(request.match_info["name"], stream=flag(request, "stream", True),
                              empty_when_stopped=shapes(request).empty_stats_when_stopped())
    readings = await engine_of(request).run(args)
    if not args.stream:
        async for reading in readings:
            return respond(reading)
        return respond({})  # stopped between the check and the reading
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        async for reading in readings:
            await response.write(json.dumps(to_api(reading)).encode() + b"\n")
    return response
