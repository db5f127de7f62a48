"""The typed messages the daemon streams or sends in headers, each with its one
encoder: a JSON progress message (import, pull, push, build, load), an event of
GET /events, and the path-stat header of the archive endpoint."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from .codec import api, to_api


# --- JSON progress messages (Docker's jsonmessage.JSONMessage) ---------------------------

@dataclass(frozen=True)
class ErrorDetail:
    message: str = api("message", default="")
    code: int | None = api("code", omit_none=True, default=None)


@dataclass(frozen=True)
class ProgressMessage:
    """One message of a JSON progress stream; unset fields are left out, as Go's
    `omitempty` leaves them out (field order is Go's struct order)."""
    stream: str | None = api("stream", omit_none=True, default=None)
    status: str | None = api("status", omit_none=True, default=None)
    progress_detail: dict[str, int] | None = api("progressDetail", omit_none=True, default=None)
    progress: str | None = api("progress", omit_none=True, default=None)
    id: str | None = api("id", omit_none=True, default=None)
    error_detail: ErrorDetail | None = api("errorDetail", omit_none=True, default=None)
    error: str | None = api("error", omit_none=True, default=None)
    aux: dict[str, Any] | None = api("aux", omit_none=True, default=None)   # push's digest record

    def encode(self) -> bytes:
        return json.dumps(to_api(self)).encode() + b"\r\n"


def progress_line(**fields: Any) -> bytes:
    """A progress message given by its wire names (`stream=`, `errorDetail=`, ...),
    encoded; an unknown name is a programming error, so it raises TypeError."""
    names = {"progressDetail": "progress_detail", "errorDetail": "error_detail"}
    kwargs = {names.get(key, key): value for key, value in fields.items()}
    detail = kwargs.get("error_detail")
    if isinstance(detail, dict):
        kwargs["error_detail"] = ErrorDetail(str(detail.get("message", "")), detail.get("code"))
    return ProgressMessage(**kwargs).encode()


# --- events (GET /events) ---------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    id: str = api("ID", default="")
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    # Docker spells the 1.2 fields in lower case.
    status: str = api("status")    # create, start, die, stop, kill, destroy, untag, delete, ...
    id: str = api("id")
    from_: str = api("from", default="")   # the image, for container events
    time: int = api("time", default=0)
    type: str = "container"
    action: str = ""
    actor: Actor = field(default_factory=Actor)
    time_nano: int = api("timeNano", default=0)


def encode_event(event: Event) -> bytes:
    """An event's wire form: one compact JSON line (also the journal's line format)."""
    return json.dumps(to_api(event), separators=(",", ":")).encode() + b"\n"


# --- the path-stat header (X-Docker-Container-Path-Stat) --------------------------------

PATH_STAT_HEADER = "X-Docker-Container-Path-Stat"


@dataclass
class PathStat:
    """What the archive endpoint says about a path (mode in Go's os.FileMode bits)."""
    name: str = api("name")
    size: int = api("size")
    mode: int = api("mode")
    mtime: str = api("mtime")
    link_target: str = api("linkTarget", default="")

    def header(self) -> str:
        """The header's value: base64 of the JSON."""
        return base64.b64encode(json.dumps(to_api(self)).encode()).decode()
