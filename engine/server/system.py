"""System routes: /_ping, /version, /info, /events, and pyctr's own /pyctr/jobs."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..codec import to_api
from ..daemon.args import EventsQuery
from ..daemon.events import EventFilter
from ..errors import BadRequest
from .app import Routes, engine_of
from .versions import CURRENT
from .wire import respond


def _ping_headers() -> dict[str, str]:
    # OSType: the docker CLI parses --device by the server's OS ("unknown server OS" without it).
    return {"API-Version": str(CURRENT), "Docker-Experimental": "false", "OSType": "linux",
            "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers=_ping_headers())


async def version(request: web.Request) -> web.Response:
    return respond(await engine_of(request).run("version"))


async def info(request: web.Request) -> web.Response:
    return respond(await engine_of(request).run("info"))


async def jobs(request: web.Request) -> web.Response:
    """The engine's trace of recent jobs (name, start, duration, status)."""
    return respond(list(engine_of(request).traces))


def _event_filter(request: web.Request) -> EventFilter:
    """`filters={"container":["id"]}` or the newer `{"container":{"id":true}}`."""
    text = request.query.get("filters", "")
    if not text:
        return EventFilter()
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError
        values = {k: frozenset(v if isinstance(v, list) else [x for x, on in v.items() if on])
                  for k, v in raw.items()}
    except (ValueError, AttributeError):
        raise BadRequest(f"invalid filters: {text}") from None
    unknown = set(values) - {"container", "image", "event", "type"}
    if unknown:
        raise BadRequest(f"invalid filter: {', '.join(sorted(unknown))}")
    return EventFilter(values.get("container", frozenset()), values.get("image", frozenset()),
                       values.get("event", frozenset()), values.get("type", frozenset()))


def _unix_time(request: web.Request, name: str) -> int:
    """Seconds since the epoch; Docker's clients also send "1500000000.000000000"."""
    text = request.query.get(name, "")
    try:
        return int(float(text)) if text else 0
    except ValueError:
        raise BadRequest(f"invalid value for {name}: {text!r}") from None


async def events(request: web.Request) -> web.StreamResponse:
    query = EventsQuery(since=_unix_time(request, "since"), until=_unix_time(request, "until"),
                        filter=_event_filter(request))
    subscription = await engine_of(request).run("events", query)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        async for event in subscription:
            await response.write(json.dumps(to_api(event)).encode() + b"\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


def setup(routes: Routes) -> None:
    routes.add("GET", "/_ping", ping)
    routes.add("GET", "/version", version)
    routes.add("GET", "/info", info)
    routes.add("GET", "/events", events)
    routes.add("GET", "/pyctr/jobs", jobs)
