"""Exec routes (API 1.15+): create, start (attached or detached), resize, inspect."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from ..daemon.exec import ExecCreate, ExecInspect, ExecResize, ExecStart
from ..errors import EngineError
from .attach import serve_attach
from .hijack import hijack, wants_upgrade
from .router import engine_of
from .wire import RAW_STREAM, decode, frame, integer, json_body, respond


@dataclass
class ExecConfigBody:
    """The body of `POST /containers/(id)/exec`."""
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    tty: bool = False
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    user: str = ""
    privileged: bool = False
    working_dir: str = ""
    detach_keys: str = ""


@dataclass
class ExecStartBody:
    detach: bool = False
    tty: bool = False


def _keys_as_docker_reads_them(data: object) -> object:
    """Go's JSON decoding matches keys case-insensitively, and docker-py sends
    `detachKeys` in lower camel case: spell such keys as our record does."""
    if not isinstance(data, dict):
        return data
    known = {key.lower(): key for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "Cmd",
                                          "Env", "User", "Privileged", "WorkingDir", "DetachKeys")}
    return {known.get(key.lower(), key): value for key, value in data.items()}


async def create(request: web.Request) -> web.Response:
    body = decode(ExecConfigBody, _keys_as_docker_reads_them(await json_body(request)), "exec config")
    args = ExecCreate(request.match_info["name"], body.cmd, body.env, body.user, body.working_dir,
                      body.tty, body.privileged, body.attach_stdin, body.attach_stdout, body.attach_stderr,
                      body.detach_keys)
    return respond(request, await engine_of(request).run(args), status=201)


async def start(request: web.Request) -> web.StreamResponse:
    body = decode(ExecStartBody, await json_body(request, required=False), "exec start")
    session = await engine_of(request).run(ExecStart(request.match_info["id"], body.detach))
    if session is None:
        return web.Response(status=200)
    # As Docker: the start's `Tty` says whether the stream is raw or multiplexed, not the
    # exec's (docker-py starts a TTY exec without it and demultiplexes the stream).
    raw = body.tty
    try:
        if not wants_upgrade(request):
            await session.begin()  # errors still get their HTTP status here
            response = web.StreamResponse(headers={"Content-Type": RAW_STREAM})
            await response.prepare(request)
            async for name, data in session.output():
                await response.write(data if raw else frame(name, data))
            return response
        conn, response = await hijack(request)
        try:
            await session.begin()
        except EngineError as exc:  # the status line is sent: say it in the stream, as Docker
            await conn.write(exc.message.encode() + b"\n" if raw else frame("stderr", exc.message.encode() + b"\n"))
            conn.close()
            return response
        await serve_attach(session, conn, raw)
        return response
    finally:
        session.close()


async def resize(request: web.Request) -> web.Response:
    args = ExecResize(request.match_info["id"], integer(request, "h", 0), integer(request, "w", 0))
    await engine_of(request).run(args)
    return web.Response(status=201)


async def inspect(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(ExecInspect(request.match_info["id"])))
