"""Reading requests and writing responses the way the Docker API does."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from typing import Any, TypeVar

from aiohttp import web

from ..api.codec import from_api, to_api
from ..api.messages import progress_line  # noqa: F401  (server modules write progress with it)
from ..errors import BadRequest
from .shapes import Shapes
from ..api.versions import CURRENT, APIVersion

RAW_STREAM = "application/vnd.docker.raw-stream"
T = TypeVar("T")


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


async def json_body(request: web.Request, required: bool = True) -> Any:
    """The request body as JSON; 400 naming the problem when it is not."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise BadRequest("request body is empty: a JSON object is required")
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"invalid JSON in request body: {exc}") from None


def respond(data: Any, status: int = 200) -> web.Response:
    """`data` is a record (or list of them), or JSON that `Shapes` already made."""
    if not _is_plain(data):
        data = to_api(data)
    return web.Response(status=status, body=json.dumps(data).encode(),
                        content_type="application/json")


def _is_plain(data: Any) -> bool:
    """Whether `data` is JSON already (checked shallowly: records sit at the top)."""
    if isinstance(data, list):
        return not data or isinstance(data[0], (dict, str, int, float, bool))
    if isinstance(data, dict):
        return not any(dataclasses.is_dataclass(v) for v in data.values())
    return isinstance(data, (str, int, float, bool, type(None)))


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
