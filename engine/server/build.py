"""`POST /build`: the context tar is the body; progress comes back as a JSON stream
(`{"stream": "Step 0 : FROM busybox\n"}`), a failure as its last message
(`{"error": ..., "errorDetail": {"message": ..., "code": ...}}`), as Docker 1.2 did."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from ..builder.evaluator import BuildError, BuildOptions
from ..daemon.build import BuildArgs
from ..errors import EngineError
from .router import engine_of
from .wire import BodyReader, flag, progress_line


class _ResponseOutput:
    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response

    async def write(self, data: bytes) -> None:
        await self.response.write(data)


def _error_line(message: str, code: int = 0) -> bytes:
    detail = {"message": message}
    if code:
        detail["code"] = code
    return progress_line(error=message, errorDetail=detail)


async def build(request: web.Request) -> web.StreamResponse:
    query = request.query
    options = BuildOptions(tag=query.get("t", ""), quiet=flag(request, "q"),
                           nocache=flag(request, "nocache"), rm=flag(request, "rm", True),
                           forcerm=flag(request, "forcerm"))
    remote = query.get("remote", "")
    body = None if remote else BodyReader(request, asyncio.get_running_loop())
    args = BuildArgs(body, options, query.get("dockerfile", "") or "Dockerfile", remote)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):
        try:
            await engine_of(request).run(args, _ResponseOutput(response))
        except BuildError as exc:
            await response.write(_error_line(exc.message, exc.code))
        except EngineError as exc:
            await response.write(_error_line(exc.message))
        except Exception as exc:  # already answering 200: the stream is the only place left
            await response.write(_error_line(f"{type(exc).__name__}: {exc}"))
    return response
