"""Registry routes of the v1.14 API: `POST /auth`, `GET /images/search`,
`POST /images/(name)/push`, and the pull half of `POST /images/create` (fromImage),
which images.py hands to `pull` here.

Pull and push answer with a JSON progress stream. The response starts with the first
message, so an error found before anything was sent (an unknown tag, a wrong password,
a registry that is down) is an ordinary error answer with its status code; one found
later goes into the stream as `{"error": ..., "errorDetail": {"message": ...}}`."""

from __future__ import annotations

import logging

from aiohttp import web

from ..api import applied
from ..api.messages import ErrorDetail, ProgressMessage
from ..daemon.distribution import DistributionInspect
from ..daemon.registry_jobs import RegistryLogin, RegistryPull, RegistryPush, RegistrySearch
from ..errors import BadRequest, EngineError
from ..graph import reference
from ..jobs import JobArgs
from ..registry.auth import credentials_from_json, decode_header
from .router import engine_of
from .wire import json_body, respond

log = logging.getLogger("pyctr.server")


class JSONStream:
    """The job's output: a chunked JSON response, started on the first write."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None

    async def write(self, data: bytes) -> None:
        if self.response is None:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(self.request)
            self.response = response
        await self.response.write(data)


def error_line(message: str, code: int | None = None) -> bytes:
    return ProgressMessage(error=message, error_detail=ErrorDetail(message, code or None)).encode()


async def stream_job(request: web.Request, args: JobArgs[None]) -> web.StreamResponse:
    out = JSONStream(request)
    try:
        await engine_of(request).run(args, out)
    except EngineError as exc:
        if out.response is None:
            raise
        await out.write(error_line(exc.message))
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as exc:
        if out.response is None:
            raise
        log.exception("%s failed", args.job)
        await out.write(error_line(f"{type(exc).__name__}: {exc}"))
    if out.response is None:
        return web.Response(status=200, content_type="application/json")
    await out.response.write_eof()
    return out.response


def pull_args(request: web.Request) -> RegistryPull:
    """fromImage=repo[:tag|@digest] and tag= (a tag, or a digest from today's clients)."""
    image = request.query.get("fromImage", "").strip()
    tag = request.query.get("tag", "").strip()
    if not image:
        raise BadRequest("fromImage is empty: give the image to pull")
    applied.check_platform(request.query.get("platform", ""), "a pull")
    if "@" in image:
        image, digest = image.split("@", 1)
        if tag and tag != digest:
            raise BadRequest(f"both a digest ({digest}) and a tag ({tag}) given")
        tag = digest
    else:
        repo, own_tag = reference.split_tag(image)
        if own_tag:
            if tag and tag != own_tag:
                raise BadRequest(f"two tags given: {own_tag} in fromImage and {tag}")
            image, tag = repo, own_tag
    return RegistryPull(image, tag, decode_header(request.headers.get("X-Registry-Auth")))


async def pull(request: web.Request) -> web.StreamResponse:
    return await stream_job(request, pull_args(request))


async def push(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    tag = request.query.get("tag", "").strip()
    repo, own_tag = reference.split_tag(name)
    if own_tag:
        if tag and tag != own_tag:
            raise BadRequest(f"two tags given: {own_tag} in the name and {tag}")
        name, tag = repo, own_tag
    args = RegistryPush(name, tag, decode_header(request.headers.get("X-Registry-Auth")))
    return await stream_job(request, args)


async def auth(request: web.Request) -> web.Response:
    creds = credentials_from_json(await json_body(request))
    return respond(request, await engine_of(request).run(RegistryLogin(creds)))


async def search(request: web.Request) -> web.Response:
    term = request.query.get("term", "").strip()
    if not term:
        raise BadRequest("term is required")
    args = RegistrySearch(term, decode_header(request.headers.get("X-Registry-Auth")))
    return respond(request, await engine_of(request).run(args))


async def distribution(request: web.Request) -> web.Response:
    """`GET /distribution/(name)/json`: the registry's descriptor and platforms of `name`."""
    args = DistributionInspect(request.match_info["name"],
                               decode_header(request.headers.get("X-Registry-Auth")))
    info = await engine_of(request).run(args)
    return respond(request, {"Descriptor": {"mediaType": info.media_type, "digest": info.digest,
                                            "size": info.size},
                             "Platforms": info.platforms})
