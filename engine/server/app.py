"""The API server: aiohttp routes for every resource, answering both `/path` and
`/vX.Y/path`, turning job errors into Docker-style `{"message": ...}` replies."""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

from aiohttp import web

from ..errors import EngineError
from ..jobs import Engine
from ..api.versions import CURRENT, MAX_VERSION, MIN_VERSION, APIVersion

log = logging.getLogger("pyctr.server")

ENGINE = web.AppKey("engine", Engine)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
                                       f"API version is {MIN_VERSION}, please upgrade your client")
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


class Routes:
    """Registers each route twice: unversioned and under /v{version}/."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def add(self, method: str, path: str, handler: Handler) -> None:
        for prefix in ("", r"/v{version:[0-9]+\.[0-9]+}"):
            if method == "GET":
                self.app.router.add_get(prefix + path, handler)  # HEAD too
            else:
                self.app.router.add_route(method, prefix + path, handler)


def build_app(engine: Engine) -> web.Application:
    from . import containers, images, registry, stats, system
    from . import exec as exec_routes
    from . import build as build_routes, transport as transport_routes
    from . import unsupported
    app = web.Application(middlewares=[api_middleware], client_max_size=0)
    app[ENGINE] = engine
    routes = Routes(app)
    for module in (system, images, containers, stats, exec_routes, registry, build_routes, transport_routes,
                   unsupported):
        module.setup(routes)
    return app


def engine_of(request: web.Request) -> Engine:
    return request.app[ENGINE]
