"""Image routes of the v1.14 API."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..daemon.args import (ImageDelete, ImageHistory, ImageImport, ImageInspect, ImageList, ImagePrune,
                           ImageTag)
from ..api import applied
from ..api.filters import Filters
from ..errors import BadRequest
from . import registry
from .router import engine_of
from .wire import BodyReader, flag, progress_line, respond, shapes


async def list_images(request: web.Request) -> web.Response:
    args = ImageList(all=flag(request, "all"), filters=Filters.parse(request.query.get("filters")),
                     repository=request.query.get("filter", ""))
    return respond(request, await engine_of(request).run(args))


async def prune(request: web.Request) -> web.Response:
    args = ImagePrune(Filters.parse(request.query.get("filters")))
    return respond(request, await engine_of(request).run(args))


async def create_image(request: web.Request) -> web.StreamResponse:
    """`fromSrc` imports a tarball; `fromImage` pulls from a registry."""
    query = request.query
    if "fromImage" in query:
        return await registry.pull(request)  # the pull half lives with the other registry routes
    source = query.get("fromSrc")
    if not source:
        raise BadRequest("give fromSrc (import) or fromImage (pull)")
    applied.check_platform(query.get("platform", ""), "an import")
    repo, tag = query.get("repo", ""), query.get("tag", "")
    if ":" in repo.rsplit("/", 1)[-1] and not tag:  # `docker import - repo:tag` sends it in repo
        repo, tag = repo.rsplit(":", 1)
    body = BodyReader(request, asyncio.get_running_loop()) if source == "-" else None
    changes = [c for c in query.getall("changes", []) if c.strip()]
    image_id = await engine_of(request).run(ImageImport(source, repo, tag, body, changes,
                                                        query.get("message", "")))
    return web.Response(body=progress_line(status=shapes(request).image_id(image_id)),
                        content_type="application/json")


async def inspect_image(request: web.Request) -> web.Response:
    details = await engine_of(request).run(ImageInspect(request.match_info["name"]))
    return respond(request, details)


async def image_history(request: web.Request) -> web.Response:
    return respond(request, await engine_of(request).run(ImageHistory(request.match_info["name"])))


async def tag_image(request: web.Request) -> web.Response:
    repo = request.query.get("repo", "")
    if not repo:
        raise BadRequest("repo is required")
    args = ImageTag(request.match_info["name"], repo, request.query.get("tag", ""),
                    flag(request, "force") or shapes(request).tag_moves())
    await engine_of(request).run(args)
    return web.Response(status=201)


async def delete_image(request: web.Request) -> web.Response:
    args = ImageDelete(request.match_info["name"], flag(request, "force"), flag(request, "noprune"),
                       today=shapes(request).image_delete_of_today())
    return respond(request, await engine_of(request).run(args))
