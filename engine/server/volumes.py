"""Volume routes (API 1.21+): create, list, inspect, remove, prune (daemon/volume_jobs.py)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..api.filters import Filters
from ..daemon.volume_jobs import VolumeCreate, VolumeInspect, VolumeList, VolumePrune, VolumeRemove
from ..errors import BadRequest
from .router import engine_of
from .wire import decode, flag, json_body, no_content, respond


@dataclass
class VolumeCreateBody:
    name: str = ""
    driver: str = ""
    driver_opts: dict[str, str] | None = None
    labels: dict[str, str] | None = None


async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    spec = decode(VolumeCreateBody, body or {}, "volume create body")
    args = VolumeCreate(spec.name, spec.driver, dict(spec.driver_opts or {}), dict(spec.labels or {}))
    return respond(request, await engine_of(request).run(args), status=201)


async def list_volumes(request: web.Request) -> web.Response:
    args = VolumeList(Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))


async def inspect(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(VolumeInspect(request.match_info["name"])))


async def remove(request: web.Request) -> web.Response:
    await engine_of(request).run(VolumeRemove(request.match_info["name"], force=flag(request, "force")))
    return no_content()


async def prune(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(VolumePrune(Filters.parse(request.query.get("filters")))))
