"""The `/networks` routes (API 1.21+): user-defined networks, and the predefined
bridge, host and none, as dockerd 20.10 answers them."""

from __future__ import annotations

from aiohttp import web

from ..api.filters import Filters
from ..api.networks import NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest
from ..daemon.networks import (NetworkConnect, NetworkCreate, NetworkDisconnect, NetworkInspect, NetworkList,
                               NetworkPrune, NetworkRemove)
from ..errors import BadRequest
from .router import engine_of
from .wire import decode, flag, json_body, no_content, respond


def _id(request: web.Request) -> str:
    return request.match_info["id"]


async def _body(request: web.Request, cls, what: str):
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return decode(cls, body, what)


async def list_networks(request: web.Request) -> web.Response:
    args = NetworkList(Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))


async def inspect_network(request: web.Request) -> web.Response:
    args = NetworkInspect(_id(request), flag(request, "verbose"), request.query.get("scope", ""))
    return respond(request, await engine_of(request).run(args))


async def create_network(request: web.Request) -> web.Response:
    create = await _body(request, NetworkCreateRequest, "network config")
    return respond(request, await engine_of(request).run(NetworkCreate(create)), status=201)


async def remove_network(request: web.Request) -> web.Response:
    await engine_of(request).run(NetworkRemove(_id(request)))
    return no_content()


async def connect(request: web.Request) -> web.Response:
    body = await _body(request, NetworkConnectRequest, "network connect request")
    if not body.container:
        raise BadRequest("Container is required")
    await engine_of(request).run(NetworkConnect(_id(request), body))
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    body = await _body(request, NetworkDisconnectRequest, "network disconnect request")
    if not body.container:
        raise BadRequest("Container is required")
    await engine_of(request).run(NetworkDisconnect(_id(request), body))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.Response:
    args = NetworkPrune(Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))
