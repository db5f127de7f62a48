"""The router's helpers: how a route is registered (unversioned and under
`/vX.Y/`), the middleware that checks the version and turns job errors into
Docker-style `{"message": ...}` replies, and the engine a handler runs jobs on.

Resource modules import this, never app.py or routes.py, so the server has no
import circle: routes.py (the table) -> resource modules -> router.py."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from ..errors import EngineError
from ..jobs import Engine
from ..api.versions import CURRENT, MAX_VERSION, MIN_VERSION, APIVersion

log = logging.getLogger("pyctr.server")

ENGINE = web.AppKey("engine", Engine)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler


def error_response(status: int, message: str) -> web.Response:
    if status == 304:  # no body allowed
        return web.Response(status=304)
    return web.Response(status=status, body=json.dumps({"message": message}).encode(),
                        content_type="application/json")


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    text = request.match_info.get("version")
    if text is not None:
        try:
            version = APIVersion(text)
        except ValueError:
            return error_response(400, f"malformed API version in path: v{text}")
        if version > MAX_VERSION:
            return error_response(400, f"client version {version} is too new. Maximum supported "
                                       f"API version is {MAX_VERSION}")
        if version < MIN_VERSION:
            return error_response(400, f"client version {version} is too old. Minimum supported "
                                       f"API version is {MIN_VERSION}, please upgrade your client to a newer version")
        request["api_version"] = version
    try:
        response = await handler(request)
    except EngineError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPNotFound:
        return error_response(404, f"page not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed:
        return error_response(405, f"method not allowed: {request.method} {request.path}")
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, f"{type(exc).__name__}: {exc}")
    response.headers.setdefault("Server", f"pyctr (API {CURRENT})")
    return response


def add_routes(app: web.Application, routes: list[Route]) -> None:
    """Registers each route twice: unversioned and under /v{version}/ (a GET answers HEAD too)."""
    for route in routes:
        for prefix in ("", VERSION_PREFIX):
            if route.method == "GET":
                app.router.add_get(prefix + route.path, route.handler)
            else:
                app.router.add_route(route.method, prefix + route.path, route.handler)


def engine_of(request: web.Request) -> Engine:
    return request.app[ENGINE]
