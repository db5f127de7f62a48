"""System routes: /version, /info, /events, and pyctr's own /pyctr/jobs (/_ping: ping.py)."""

from __future__ import annotations

from aiohttp import web

from ..daemon.args import EventsQuery, InfoQuery, VersionQuery
from ..daemon.df import DiskUsageQuery
from ..api.filters import EVENTS, Filters
from ..daemon.events import EventFilter
from ..errors import BadRequest
from .router import engine_of
from .streaming import while_connected
from .wire import flag, respond, shapes


async def version(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(VersionQuery()))


async def info(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(InfoQuery()))


async def disk_usage(request: web.Request) -> web.Response:
    if request.query.get("type"):   # API 1.42's per-kind query: not this API's
        raise BadRequest("the type parameter of /system/df needs API 1.42; pyctr speaks up to 1.41")
    return respond(request, shapes(request).disk_usage(await engine_of(request).run(DiskUsageQuery())))


# dockerd's build-cache filters (BuildKit's); none can match here, but each is checked.
BUILD_CACHE_FILTERS = frozenset({"description", "id", "inuse", "parent", "private", "shared", "type",
                                 "until", "unused-for"})


async def build_prune(request: web.Request) -> web.Response:
    """`docker builder prune`: the classic builder keeps its cache as intermediate images
    (pruned with the images), so there is no separate cache to free."""
    Filters.parse(request.query.get("filters")).validate(BUILD_CACHE_FILTERS)
    flag(request, "all")
    for name in ("keep-storage", "reserved-space", "max-used-space", "min-free-space"):
        value = request.query.get(name, "")
        if value and not value.isdigit():
            raise BadRequest(f"invalid value for {name}: {value!r} (bytes)")
    return respond(request, {"CachesDeleted": [], "SpaceReclaimed": 0})


async def jobs(request: web.Request) -> web.Response:
    """The engine's trace of recent jobs (name, start, duration, status)."""
    return respond(request, list(engine_of(request).traces))


def _event_filter(request: web.Request) -> EventFilter:
    filters = Filters.parse(request.query.get("filters")).validate(EVENTS)
    return EventFilter({name: frozenset(values) for name, values in filters.fields.items()})


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
    if query.until_ns and query.since_ns > query.until_ns:
        raise BadRequest(f"`since` time ({request.query['since']}) cannot be after "
                         f"`until` time ({request.query['until']})")
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
