"""Routes that move filesystems and images as tarballs: commit, changes, export, copy
(and the archive endpoint today's `docker cp` uses), save (get) and load."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from ..daemon.commit import CommitArgs
from ..daemon.args import ContainerChanges, ContainerExport
from ..daemon.tarballs import ArchiveGetArgs, CopyArgs, LoadArgs, PathStatArgs, PutArchiveArgs, SaveArgs
from ..errors import BadRequest
from ..api.config import ContainerConfig
from .router import engine_of
from .wire import decode as _decode
from .wire import BodyReader, flag, json_body, progress_line, respond
from ..api.messages import PATH_STAT_HEADER as STAT_HEADER

TAR = "application/x-tar"


async def _send_stream(request: web.Request, chunks, headers: dict[str, str]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": TAR, **headers})
    async with contextlib.aclosing(chunks):
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            async for chunk in chunks:
                await response.write(chunk)
    return response


async def commit(request: web.Request) -> web.Response:
    query = request.query
    container = query.get("container", "")
    if not container:
        raise BadRequest("container is required")
    body = await json_body(request, required=False)
    if body is not None and not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object (a container config)")
    config = _decode(ContainerConfig, body, "config") if body else None
    repo, tag = query.get("repo", ""), query.get("tag", "")
    if ":" in repo.rsplit("/", 1)[-1] and not tag:
        repo, tag = repo.rsplit(":", 1)
    args = CommitArgs(container, repo, tag, comment=query.get("comment") or query.get("m", ""),
                      author=query.get("author", ""), pause=flag(request, "pause", True),
                      config=config, changes=[c for c in query.getall("changes", []) if c.strip()])
    return respond(request, await engine_of(request).run(args), status=201)


async def changes(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return respond(request, await engine_of(request).run(ContainerChanges(name)))


async def export(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    chunks = await engine_of(request).run(ContainerExport(name))
    return await _send_stream(request, chunks, {})


async def copy(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    resource = body.get("Resource") if isinstance(body, dict) else None
    if not isinstance(resource, str) or not resource:
        raise BadRequest("Path cannot be empty: give {\"Resource\": \"/path/in/container\"}")
    source = await engine_of(request).run(CopyArgs(request.match_info["name"], resource))
    return await _send_stream(request, source.chunks, {})


async def archive(request: web.Request) -> web.StreamResponse:
    """Today's `docker cp` (GET, and HEAD for the stat alone)."""
    name, path = request.match_info["name"], request.query.get("path", "")
    if request.method == "HEAD":
        info = await engine_of(request).run(PathStatArgs(name, path))
        return web.Response(headers={STAT_HEADER: info.header(), "Content-Type": TAR})
    source = await engine_of(request).run(ArchiveGetArgs(name, path))
    return await _send_stream(request, source.chunks, {STAT_HEADER: source.stat.header()})


async def put_archive(request: web.Request) -> web.Response:
    """Today's `docker cp HOST CONTAINER:DIR`: the body is a tar for the directory `path`."""
    body = BodyReader(request, asyncio.get_running_loop())
    args = PutArchiveArgs(request.match_info["name"], request.query.get("path", ""), body)
    await engine_of(request).run(args)
    return web.Response(status=200)


async def save_one(request: web.Request) -> web.StreamResponse:
    chunks = await engine_of(request).run(SaveArgs([request.match_info["name"]]))
    return await _send_stream(request, chunks, {})


async def save_many(request: web.Request) -> web.StreamResponse:
    names = [n for n in request.query.getall("names", []) if n]
    chunks = await engine_of(request).run(SaveArgs(names))
    return await _send_stream(request, chunks, {})


async def load(request: web.Request) -> web.Response:
    body = BodyReader(request, asyncio.get_running_loop())
    loaded = await engine_of(request).run(LoadArgs(body))
    data = b"".join(progress_line(stream=line + "\n") for line in loaded)
    return web.Response(body=data, content_type="application/json")
