"""Reading requests and writing responses the way the Docker API does."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any, TypeVar

from aiohttp import web

from ..api.codec import from_api
from ..api.messages import progress_line  # noqa: F401  (server modules write progress with it)
from ..errors import BadRequest, EngineError
from .shapes import Shapes
from ..api.versions import CURRENT, APIVersion

RAW_STREAM = "application/vnd.docker.raw-stream"
T = TypeVar("T")
# A JSON request body is a config, never more than a few levels deep or a few MB big;
# the limits keep a hostile one from costing the daemon its stack or its memory.
MAX_JSON_DEPTH = 100
MAX_JSON_BODY = 32 << 20


def version(request: web.Request) -> APIVersion:
    return request.get("api_version", CURRENT)


def shapes(request: web.Request) -> Shapes:
    """How this request's API version reads and writes its JSON."""
    return Shapes(version(request))


def flag(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's boolean query parameters: 1/true/True/yes on, 0/false/"" off."""
    value = request.query.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise BadRequest(f"invalid boolean value for {name}: {value!r}")


def integer(request: web.Request, name: str, default: int) -> int:
    value = request.query.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"invalid integer value for {name}: {value!r}") from None


def decode(cls: type[T], data: Any, what: str) -> T:
    """A request body (already parsed JSON) as the record `cls`; 400 naming the field."""
    try:
        return from_api(cls, data)
    except ValueError as exc:
        raise BadRequest(f"invalid {what}: {exc}") from None


def parse_json(text: str | bytes, what: str) -> Any:
    """JSON from a client (a body, a `filters=` parameter, a header): 400 naming `what`
    when it is not JSON or nests deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadRequest(f"invalid JSON in {what}: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:   # UnicodeDecodeError is one too
        raise BadRequest(f"invalid JSON in {what}: {exc}") from None
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise BadRequest(f"invalid JSON in {what}: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iteratively: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


async def json_body(request: web.Request, required: bool = True) -> Any:
    """The request body as JSON; 400 naming the problem when it is not."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise _too_large()
    raw = bytearray()
    while chunk := await request.content.read(1 << 16):
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise _too_large()
    if not raw.strip():
        if required:
            raise BadRequest("request body is empty: a JSON object is required")
        return None
    return parse_json(bytes(raw), "request body")


def _too_large() -> EngineError:
    error = EngineError(f"request body too large: a JSON body may have at most {MAX_JSON_BODY >> 20} MiB")
    error.status = 413
    return error


def respond(request: web.Request, data: Any, status: int = 200) -> web.Response:
    """Answer with `data` (a record, a list of them, or plain JSON) as JSON, in the
    shape of the request's API version (shapes.py)."""
    return web.Response(status=status, body=json.dumps(shapes(request).encode(data)).encode(),
                        content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def frame(stream: str, data: bytes) -> bytes:
    """The multiplexed stream format: 1 byte stream (1 stdout, 2 stderr), 3 zero
    bytes, a big-endian 32-bit length, then the data."""
    sid = 2 if stream == "stderr" else 1
    return bytes((sid, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


class BodyReader(io.RawIOBase):
    """The request body as a blocking file, for tar work in a worker thread: each
    read asks the event loop for the next chunk, so the loop never blocks."""

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop) -> None:
        self._content = request.content
        self._loop = loop
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        if not self._buffer:
            future = asyncio.run_coroutine_threadsafe(self._content.readany(), self._loop)
            self._buffer = future.result()
            if not self._buffer:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n
