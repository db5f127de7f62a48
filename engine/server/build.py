"""`POST /build`: the context tar is the body; progress comes back as a JSON stream
(`{"stream": "Step 1/2 : FROM busybox\n"}`, `{"aux": {"ID": ...}}`), a failure as its last
message (`{"error": ..., "errorDetail": {"message": ..., "code": ...}}`), as Docker's classic
builder writes them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json

from aiohttp import web

from ..builder.options import BuildError, BuildOptions
from ..daemon.args import BuildArgs
from ..api.config import HostConfig
from ..errors import BadRequest, EngineError
from .router import engine_of
from .wire import BodyReader, flag, progress_line, shapes


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


# Query parameters that set the RUN containers' HostConfig: (name, field, kind). A field
# this pyctrd's HostConfig does not have is refused when the client sets it.
_HOST_PARAMS = (("memory", "memory", int), ("memswap", "memory_swap", int),
                ("cpushares", "cpu_shares", int), ("cpusetcpus", "cpuset_cpus", str),
                ("cpusetmems", "cpuset_mems", str), ("cpuperiod", "cpu_period", int),
                ("cpuquota", "cpu_quota", int), ("shmsize", "shm_size", int),
                ("cgroupparent", "cgroup_parent", str), ("ulimits", "ulimits", list),
                ("extrahosts", "extra_hosts", "hosts"))
_BUILDKIT_ONLY = ("session", "buildid", "outputs")


def _json_param(query, name: str, kind: type, items: type):
    text = query.get(name, "")
    if text in ("", "null"):
        return kind()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"invalid {name}: not JSON: {exc}") from None
    if value is None:
        return kind()
    ok = isinstance(value, kind) and all(
        (isinstance(v, items) or v is None) for v in (value.values() if kind is dict else value))
    if not ok or (kind is dict and not all(isinstance(k, str) for k in value)):
        raise BadRequest(f"invalid {name}: {text!r} is not a JSON "
                         f"{'object of strings' if kind is dict else 'array of strings'}")
    return value


def _host_config(query) -> HostConfig:
    host = HostConfig()
    have = {f.name for f in dataclasses.fields(HostConfig)}
    mode = query.get("networkmode", "")
    if mode not in ("", "default"):
        host.network_mode = mode
    for name, field_name, kind in _HOST_PARAMS:
        if kind == "hosts":
            given = [h for h in query.getall(name, []) if h]
            value: object = given or None
        elif kind is list:
            value = _json_param(query, name, list, dict) or None
        else:
            text = query.get(name, "")
            if text == "":
                continue
            try:
                value = kind(text)
            except ValueError:
                raise BadRequest(f"invalid {name}: {text!r} is not a number") from None
        if not value:
            continue   # unset, 0 or empty: Docker's default
        if field_name not in have:
            raise BadRequest(f"{name} is not supported by this pyctrd's builder (its containers "
                             f"have no {field_name} setting): leave it out")
        setattr(host, field_name, value)
    return host


def build_options(request: web.Request) -> BuildOptions:
    """The options of `POST /build` at API 1.41; one that cannot be honoured is a 400."""
    query = request.query
    for name in _BUILDKIT_ONLY:
        if query.get(name):
            raise BadRequest(f"{name} is BuildKit's: this pyctrd has only the classic builder")
    if query.get("version", "1") not in ("", "1"):
        raise BadRequest(f"builder version {query.get('version')} (BuildKit) is not supported: "
                         "this pyctrd has only the classic builder (version 1)")
    if flag(request, "squash"):
        raise BadRequest("squash is not supported by this pyctrd (it is experimental in Docker)")
    if query.get("isolation", "") not in ("", "default", "process"):
        raise BadRequest(f"isolation {query.get('isolation')!r} is not supported on Linux")
    shown = shapes(request)
    return BuildOptions(
        tags=[t for t in query.getall("t", []) if t], quiet=flag(request, "q"),
        nocache=flag(request, "nocache"), pull=flag(request, "pull"),
        rm=flag(request, "rm", True), forcerm=flag(request, "forcerm"),
        build_args=_json_param(query, "buildargs", dict, str),
        labels=_json_param(query, "labels", dict, str),
        target=query.get("target", ""), cache_from=_json_param(query, "cachefrom", list, str),
        host_config=_host_config(query), platform=query.get("platform", ""),
        aux=shown.since("1.30"), sha256_ids=shown.since("1.22"))


async def build(request: web.Request) -> web.StreamResponse:
    options = build_options(request)   # a bad option is a 400 before the stream starts
    query = request.query
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
