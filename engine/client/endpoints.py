"""Every endpoint the clients call, in one table: method and path, for the sync
client (api.py) and the async one (aio.py) alike, with the query-string rules
they share. Docker 1.2's CLI spoke v1.14, so the clients do too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, urlencode

from .apiversion import API_VERSION  # noqa: F401 - re-exported, the one definition
Params = Mapping[str, Any]


def encode_params(params: Params | None) -> str:
    """Query string: None drops a parameter, booleans are sent as 1/0 (Docker's
    server accepts 1/True/true and 0/False/false)."""
    if not params:
        return ""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:   # `t=a&t=b`
            if item is True or item is False:
                item = "1" if item else "0"
            pairs.append((key, str(item)))
    return urlencode(pairs)


def url(version: str, path: str, params: Params | None = None) -> str:
    """The request target: `/v<version>` (none when empty), the path, the query."""
    query = encode_params(params)
    prefix = f"/v{version}" if version else ""
    return prefix + path + (f"?{query}" if query else "")


def quote_name(name: str) -> str:
    """A name or path as one path segment. Everything but unreserved characters is
    escaped, '/' too: `diff /dev/null` or `inspect ../x` must not become another
    URL (`//dev/null`, a `..` segment). Servers decode the segment before routing
    (pyctrd, and Go's net/http for dockerd), so `localhost:5000/busybox` still
    names the image."""
    return quote(name, safe="")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str      # "{}" is where the container, image or exec id goes

    def at(self, name: str = "") -> tuple[str, str]:
        """(method, path) for the object `name`, ready for a client's request()."""
        return self.method, self.path.format(quote_name(name)) if "{}" in self.path else self.path


# --- system
PING = Endpoint("GET", "/_ping")
VERSION = Endpoint("GET", "/version")
INFO = Endpoint("GET", "/info")
EVENTS = Endpoint("GET", "/events")
AUTH = Endpoint("POST", "/auth")
# --- containers
CONTAINER_LIST = Endpoint("GET", "/containers/json")
CONTAINER_CREATE = Endpoint("POST", "/containers/create")
CONTAINER_INSPECT = Endpoint("GET", "/containers/{}/json")
CONTAINER_START = Endpoint("POST", "/containers/{}/start")
CONTAINER_STOP = Endpoint("POST", "/containers/{}/stop")
CONTAINER_RESTART = Endpoint("POST", "/containers/{}/restart")
CONTAINER_KILL = Endpoint("POST", "/containers/{}/kill")
CONTAINER_PAUSE = Endpoint("POST", "/containers/{}/pause")
CONTAINER_UNPAUSE = Endpoint("POST", "/containers/{}/unpause")
CONTAINER_WAIT = Endpoint("POST", "/containers/{}/wait")
CONTAINER_REMOVE = Endpoint("DELETE", "/containers/{}")
CONTAINER_ATTACH = Endpoint("POST", "/containers/{}/attach")
CONTAINER_RESIZE = Endpoint("POST", "/containers/{}/resize")
CONTAINER_LOGS = Endpoint("GET", "/containers/{}/logs")
CONTAINER_TOP = Endpoint("GET", "/containers/{}/top")
CONTAINER_STATS = Endpoint("GET", "/containers/{}/stats")
CONTAINER_RENAME = Endpoint("POST", "/containers/{}/rename")
CONTAINER_UPDATE = Endpoint("POST", "/containers/{}/update")
CONTAINER_CHANGES = Endpoint("GET", "/containers/{}/changes")
CONTAINER_EXPORT = Endpoint("GET", "/containers/{}/export")
CONTAINER_COPY = Endpoint("POST", "/containers/{}/copy")
COMMIT = Endpoint("POST", "/commit")
# --- exec
EXEC_CREATE = Endpoint("POST", "/containers/{}/exec")
EXEC_START = Endpoint("POST", "/exec/{}/start")
EXEC_INSPECT = Endpoint("GET", "/exec/{}/json")
EXEC_RESIZE = Endpoint("POST", "/exec/{}/resize")
# --- images
IMAGE_LIST = Endpoint("GET", "/images/json")
IMAGE_CREATE = Endpoint("POST", "/images/create")     # pull (fromImage) and import (fromSrc)
IMAGE_INSPECT = Endpoint("GET", "/images/{}/json")
IMAGE_HISTORY = Endpoint("GET", "/images/{}/history")
IMAGE_TAG = Endpoint("POST", "/images/{}/tag")
IMAGE_REMOVE = Endpoint("DELETE", "/images/{}")
IMAGE_PUSH = Endpoint("POST", "/images/{}/push")
IMAGE_SEARCH = Endpoint("GET", "/images/search")
IMAGE_SAVE = Endpoint("GET", "/images/{}/get")
IMAGE_LOAD = Endpoint("POST", "/images/load")
BUILD = Endpoint("POST", "/build")
