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
from aiohttp.http_exceptions import HttpProcessingError

from ..errors import EngineError
from ..jobs import Engine
from ..tracing import span
from ..api.versions import MAX_VERSION, MIN_VERSION, APIVersion
from .connections import ERRORS, BodyTimeout
from .early import SERVER

log = logging.getLogger("pyctr.server")

ENGINE = web.AppKey("engine", Engine)
RESPONSE_STARTED = web.RequestKey("pyctr.response_started", bool)   # its status line is on the wire
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


def _nul_in_request(request: web.Request) -> str | None:
    """What part of the request carries a NUL byte (no name, path or option may)."""
    for key, value in request.match_info.items():
        if "\0" in value:
            return f"the path ({key})"
    for key, value in request.query.items():
        if "\0" in key or "\0" in value:
            return f"query parameter {key!r}"
    return None


async def mark_response_started(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: from now on an error cannot become a status of its own."""
    request[RESPONSE_STARTED] = True


def _broken_stream(request: web.Request, exc: BaseException) -> ConnectionResetError:
    """A handler failed after its response began (a stream): a second status line
    would land in the middle of the body, so the connection is cut instead and the
    client sees the body end early (chunked: without its last chunk)."""
    ERRORS.log(("stream", request.match_info.route.resource and request.match_info.route.resource.canonical,
                type(exc).__name__), logging.ERROR, "%s %s failed while streaming its response",
               request.method, request.path, exc_info=exc)
    if request.protocol is not None:
        request.protocol.force_close()
    return ConnectionResetError("the response stream failed; connection closed")


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    nul = _nul_in_request(request)
    if nul is not None:
        return error_response(400, f"invalid NUL byte in {nul}")
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
        with span("http", method=request.method, path=request.path):
            response = await handler(request)
    except EngineError as exc:
        if request.get(RESPONSE_STARTED):
            raise _broken_stream(request, exc) from exc
        return error_response(exc.status, exc.message)
    except (HttpProcessingError, web.RequestPayloadError) as exc:   # a body malformed, cut short, stalled
        if request.get(RESPONSE_STARTED):
            raise _broken_stream(request, exc) from exc
        if isinstance(exc, BodyTimeout):
            return error_response(408, str(exc))
        detail = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
        return error_response(400, f"malformed request body: {' '.join(detail.split()) or type(exc).__name__}")
    except web.HTTPNotFound:
        return error_response(404, f"page not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed:
        return error_response(405, f"method not allowed: {request.method} {request.path}")
    except web.HTTPException:
        raise
    except (ConnectionResetError, ConnectionError):
        raise
    except Exception as exc:
        if request.get(RESPONSE_STARTED):
            raise _broken_stream(request, exc) from exc
        route = request.match_info.route.resource
        ERRORS.log(("500", route.canonical if route else request.path, type(exc).__name__),
                   logging.ERROR, "%s %s failed", request.method, request.path, exc_info=exc)
        return error_response(500, f"{type(exc).__name__}: {exc}")
    response.headers.setdefault("Server", SERVER)
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
