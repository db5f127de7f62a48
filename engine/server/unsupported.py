"""API families of later Docker versions that a Docker 1.2 engine has no counterpart
for: a clear 501 naming what is missing, never a crash or a silent success."""

from __future__ import annotations

from aiohttp import web

from ..errors import NotFound, NotSupported
from .router import Handler, Route, engine_of

FAMILIES = {
    "/session": "BuildKit sessions", "/grpc": "BuildKit",
}


def unsupported(what: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise NotSupported(f"{what} is not implemented by pyctr, a Docker 1.2 engine")
    return handler


# `docker inspect X` asks for X as every kind of object and needs a 404 from each kind
# X is not; these kinds are not served yet, but whether X names one is known.
INSPECTED = {"/plugins": ("plugin", 'plugin "{}" not found')}


def unsupported_or_missing(prefix: str, what: str) -> Handler:
    kind, missing = INSPECTED[prefix]
    refuse = unsupported(what)

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info.get("rest", "")
        if kind == "plugin":   # GET /plugins/{name}/json
            name = name.removesuffix("/json") if name.endswith("/json") else ""
        if request.method in ("GET", "HEAD") and name and "/" not in name:
            from ..daemon.args import ObjectExists   # not at the top: imported before /_ping answers
            if not await engine_of(request).run(ObjectExists(kind, name)):
                raise NotFound(missing.format(name))
        return await refuse(request)
    return handler


def unsupported_families() -> list[Route]:
    """Every method on each family's path and everything under it."""
    return [Route(method, path, unsupported_or_missing(prefix, what) if prefix in INSPECTED
                  else unsupported(what))
            for prefix, what in FAMILIES.items()
            for method in ("GET", "POST", "PUT", "DELETE")
            for path in (prefix, prefix + "/{rest:.*}")]
