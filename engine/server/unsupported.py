"""API families of later Docker versions that a Docker 1.2 engine has no counterpart
for: a clear 501 naming what is missing, never a crash or a silent success."""

from __future__ import annotations

from aiohttp import web

from ..errors import NotSupported
from .app import Routes

FAMILIES = {
    "/networks": "user-defined networks (API 1.21+); containers use --net=bridge|none|host|container:",
    "/volumes": "named volumes (API 1.21+); use -v /host:/ctr or anonymous volumes",
    "/swarm": "swarm mode (API 1.24)", "/nodes": "swarm mode (API 1.24)",
    "/services": "swarm mode (API 1.24)", "/tasks": "swarm mode (API 1.24)",
    "/secrets": "swarm mode", "/configs": "swarm mode", "/plugins": "plugins (API 1.24)",
    "/system/df": "disk usage (API 1.25)", "/session": "BuildKit sessions", "/grpc": "BuildKit",
    "/distribution": "registry distribution info (API 1.30)",
}


def _unsupported(what: str):
    async def handler(request: web.Request) -> web.Response:
        raise NotSupported(f"{what} is not implemented by pyctr, a Docker 1.2 engine")
    return handler


def setup(routes: Routes) -> None:
    for prefix, what in FAMILIES.items():
        for method in ("GET", "POST", "PUT", "DELETE"):
            routes.add(method, prefix, _unsupported(what))
            routes.add(method, prefix + "/{rest:.*}", _unsupported(what))
    routes.add("POST", "/containers/{name}/update", _unsupported("updating a container's resources (API 1.22)"))
    routes.add("POST", "/containers/prune", _unsupported("pruning (API 1.25)"))
    routes.add("POST", "/images/prune", _unsupported("pruning (API 1.25)"))
