"""System routes: /_ping, /version, /info, /events, and pyctr's own /pyctr/jobs."""

from __future__ import annotations

import json

from aiohttp import web

from ..daemon.args import EventsQuery, InfoQuery, VersionQuery
from ..daemon.events import EventFilter
from ..errors import BadRequest
from ..api.versions import CURRENT
from .router import engine_of
from .streaming import while_connected
from .wire import respond, shapes


def _ping_headers() -> dict[str, str]:
    # OSType: the docker CLI parses --device by the server's OS ("unknown server OS" without it).
    return {"API-Version": str(CURRENT), "Docker-Experimental": "false", "OSType": "linux",
            "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers=_ping_headers())


async def version(request: web.Request) -> web.Response:
    return respond(shapes(request).version_info(await engine_of(request).run(VersionQuery())))


async def info(request: web.Request) -> web.Response:
    return respond(await engine_of(request).run(InfoQuery()))


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


def _unix_time_ns(request: web.Request, name: str, end_of_second: bool = False) -> int:
    """Unix time in ns from "1500000000" (a whole second: with `end_of_second`, its
    last ns, so `until` keeps Docker 1.2's `time <= until`) or, as today's clients
    send it, "1500000000.123456789"."""
    text = request.query.get(name, "").strip()
    if not text:
        return 0
    seconds, _, fraction = text.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise BadRequest(f"invalid value for {name}: {text!r} (seconds since the epoch)")
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    if not fraction and end_of_second:
        nanos = 999_999_999
    return int(seconds) * 1_000_000_000 + nanos


async def events(request: web.Request) -> web.StreamResponse:
    query = EventsQuery(since_ns=_unix_time_ns(request, "since"),
                        until_ns=_unix_time_ns(request, "until", end_of_second=True),
                        filter=_event_filter(request))
    stream = await engine_of(request).run(query)
    try:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)

        async def copy() -> None:
            async for line in stream.lines():
                await response.write(line)

        await while_connected(request, copy())
        return response
    finally:
        stream.close()
