"""Container routes of the v1.14 API, including the streams (logs, attach)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from ..daemon.args import (AttachArgs, ContainerCreate, ContainerKill, ContainerList,
                           ContainerInspect, ContainerLogs, ContainerPause, ContainerPrune, ContainerRemove,
                           ContainerRename,
                           ContainerResize, ContainerRestart, ContainerStart, ContainerStop, ContainerTop,
                           ContainerUnpause, ContainerWait)
from ..api import applied
from ..daemon.update import ContainerUpdate, given_fields
from ..api.codec import to_api
from ..api.filters import Filters
from ..errors import BadRequest
from ..api.config import ContainerConfig, HostConfig
from ..api.networks import NetworkingConfig
from .attach import serve_attach
from .hijack import hijack, wants_upgrade
from .router import engine_of
from .streaming import while_connected
from .wire import RAW_STREAM, decode, flag, frame, integer, json_body, no_content, respond, shapes


def _name(request: web.Request) -> str:
    return request.match_info["name"]


async def list_containers(request: web.Request) -> web.Response:
    args = ContainerList(all=flag(request, "all"), limit=integer(request, "limit", -1),
                         since=request.query.get("since", ""), before=request.query.get("before", ""),
                         size=flag(request, "size"), filters=Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))


async def prune(request: web.Request) -> web.Response:
    args = ContainerPrune(Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))


async def create_container(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    applied.check_create(body)   # 400 on a field pyctr would not apply
    applied.check_platform(request.query.get("platform", ""), "a container")
    config = decode(ContainerConfig, body, "container config")
    host_config = decode(HostConfig, body.get("HostConfig"), "HostConfig")
    if not config.mac_address:   # clients of API 1.44+ put it on the endpoint
        config.mac_address = endpoint_mac(body.get("NetworkingConfig"))
    if not config.image:
        raise BadRequest("Config.Image is required")
    networking = decode(NetworkingConfig, body.get("NetworkingConfig"), "NetworkingConfig") \
        if body.get("NetworkingConfig") is not None else None
    args = ContainerCreate(config, host_config, request.query.get("name", ""), networking)
    return respond(request, await engine_of(request).run(args), status=201)


def endpoint_mac(networking) -> str:
    """The MacAddress of a create's one endpoint (NetworkingConfig.EndpointsConfig)."""
    endpoints = networking.get("EndpointsConfig") if isinstance(networking, dict) else None
    macs = [e.get("MacAddress") for e in (endpoints or {}).values() if isinstance(e, dict)]
    macs = [m for m in macs if m]
    if len(macs) > 1:
        raise BadRequest("a MAC address can be given for one network only")
    if macs and not isinstance(macs[0], str):
        raise BadRequest("invalid NetworkingConfig: MacAddress: expected a string")
    return macs[0] if macs else ""


async def inspect_container(request: web.Request) -> web.Response:
    record = await engine_of(request).run(ContainerInspect(_name(request)))
    return respond(request, record)


async def top(request: web.Request) -> web.Response:
    args = ContainerTop(_name(request), request.query.get("ps_args", "") or "-ef")
    return respond(request, await engine_of(request).run(args))


async def start(request: web.Request) -> web.Response:
    body = await json_body(request, required=False)
    shapes(request).start_body_allowed(body)
    if body:
        applied.check_host_config(body)
    host_config = decode(HostConfig, body, "HostConfig") if body else None
    await engine_of(request).run(ContainerStart(_name(request), host_config))
    return no_content()


def _stop_timeout(request: web.Request) -> int | None:
    """`t`, or None when the client leaves it to the container's StopTimeout."""
    return integer(request, "t", 0) if request.query.get("t", "") != "" else None


async def stop(request: web.Request) -> web.Response:
    args = ContainerStop(_name(request), _stop_timeout(request))
    await engine_of(request).run(args)
    return no_content()


async def restart(request: web.Request) -> web.Response:
    args = ContainerRestart(_name(request), _stop_timeout(request))
    await engine_of(request).run(args)
    return no_content()


async def kill(request: web.Request) -> web.Response:
    args = ContainerKill(_name(request), request.query.get("signal", "") or "KILL")
    await engine_of(request).run(args)
    return no_content()


async def pause(request: web.Request) -> web.Response:
    await engine_of(request).run(ContainerPause(_name(request)))
    return no_content()


async def unpause(request: web.Request) -> web.Response:
    await engine_of(request).run(ContainerUnpause(_name(request)))
    return no_content()


async def wait(request: web.Request) -> web.StreamResponse:
    condition = request.query.get("condition", "") or "not-running"
    waiter = await engine_of(request).run(ContainerWait(_name(request), condition))
    shape = shapes(request)
    try:
        if not shape.wait_answers_headers_first():
            return respond(request, shape.wait_result(await waiter.status()))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)

        async def answer() -> None:
            body = json.dumps(shape.wait_result(await waiter.status())).encode() + b"\n"
            await response.write(body)

        await while_connected(request, answer())
        return response
    finally:
        waiter.close()


async def remove(request: web.Request) -> web.Response:
    args = ContainerRemove(_name(request), force=flag(request, "force"), volumes=flag(request, "v"),
                           link=flag(request, "link"))
    await engine_of(request).run(args)
    return no_content()


async def rename(request: web.Request) -> web.Response:
    new_name = request.query.get("name", "")
    if not new_name:
        raise BadRequest("the new name is required (?name=)")
    await engine_of(request).run(ContainerRename(_name(request), new_name))
    return no_content()


async def update(request: web.Request) -> web.Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    applied.check_update(body)
    args = ContainerUpdate(_name(request), decode(HostConfig, body, "update"), given_fields(body))
    return respond(request, await engine_of(request).run(args))


async def resize(request: web.Request) -> web.Response:
    args = ContainerResize(_name(request), integer(request, "h", 0), integer(request, "w", 0))
    await engine_of(request).run(args)
    return web.Response(status=200)


def _unix_ns(request: web.Request, name: str) -> int:
    """`since`/`until` of logs: Unix seconds, with up to 9 decimals (today's CLI sends
    "1500000000.000000001"); empty or 0: unset."""
    text = request.query.get(name, "").strip()
    seconds, _, fraction = text.partition(".")
    if not text:
        return 0
    if not seconds.lstrip("-").isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 9:
        raise BadRequest(f"invalid value for {name}: {text!r} (a Unix timestamp)")
    return max(0, int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9]))


def _tail(request: web.Request) -> int:
    """A line count; "all", empty (today's clients send `tail=`) or negative: all."""
    text = request.query.get("tail", "").strip()
    if text in ("", "all"):
        return -1
    try:
        count = int(text)
    except ValueError:
        raise BadRequest(f"invalid value for tail: {text!r} (a number or all)") from None
    return count if count >= 0 else -1


async def logs(request: web.Request) -> web.StreamResponse:
    args = ContainerLogs(_name(request), stdout=flag(request, "stdout"), stderr=flag(request, "stderr"),
                         follow=flag(request, "follow"), timestamps=flag(request, "timestamps"),
                         tail=_tail(request), since_ns=_unix_ns(request, "since"),
                         until_ns=_unix_ns(request, "until"), details=flag(request, "details"))
    if not (args.stdout or args.stderr):
        raise BadRequest("Bad parameters: you must choose at least one stream")
    stream = await engine_of(request).run(args)
    response = web.StreamResponse(headers={"Content-Type": RAW_STREAM})
    await response.prepare(request)

    async def copy() -> None:
        # One write per file chunk's worth of entries: a write per line would
        # cost more than everything else together.
        async for batch in stream.batches:
            # details: the entry's log attributes first; pyctr's json-file log records
            # none, so the line gets the empty list's separator, as dockerd writes it
            prefix = b" " if args.details else b""
            if args.timestamps:
                parts = [(e.stream, e.time + b" " + prefix + e.data) for e in batch]
            else:
                parts = [(e.stream, prefix + e.data) for e in batch]
            if stream.tty:
                await response.write(b"".join(data for _, data in parts))
            else:
                await response.write(b"".join(frame(name, data) for name, data in parts))

    await while_connected(request, copy())
    return response


async def attach(request: web.Request) -> web.StreamResponse:
    args = AttachArgs(_name(request), logs=flag(request, "logs"), stream=flag(request, "stream"),
                      stdin=flag(request, "stdin"), stdout=flag(request, "stdout"),
                      stderr=flag(request, "stderr"), detach_keys=request.query.get("detachKeys", ""))
    session = await engine_of(request).run(args)
    try:
        if not wants_upgrade(request):  # old style: output only, over a plain response
            response = web.StreamResponse(headers={"Content-Type": RAW_STREAM})
            await response.prepare(request)

            async def copy() -> None:
                async for name, data in session.output():
                    await response.write(data if session.tty else frame(name, data))

            await while_connected(request, copy())
            return response
        conn, response = await hijack(request)
        await serve_attach(session, conn)
        return response
    finally:
        session.close()
