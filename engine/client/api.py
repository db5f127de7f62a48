"""The Docker Remote API v1.14 client: one method per endpoint the CLI uses (the
endpoints themselves are in endpoints.py, shared with the async client).

Every request goes to `/v1.14/...` on a fresh connection (cheap on a unix
socket, and no state to get wrong when a stream is abandoned half-way).
Errors come back as `APIError(status, message)`; a daemon that is not there is
`DaemonUnreachable`."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..api.config import ContainerConfig, HostConfig
from ..api.filters import Filters
from ..api.records import (ContainerSummary, FileChange, HistoryEntry, ImageDeleted, ImageSummary,
                           ProcessList, SearchResult, SystemInfo, VersionInfo)
from . import connection, hosts, models
from . import endpoints as E
from .endpoints import API_VERSION, Params, url
from .errors import APIError

# Today's docker CLI speaks v1.41; endpoints younger than v1.14 are asked at it.
MODERN_API_VERSION = "1.41"

if TYPE_CHECKING:
    from .tls import TLSConfig

def registry_auth(auth: models.AuthConfig | None) -> dict[str, str]:
    """The X-Registry-Auth header: base64url of the JSON AuthConfig."""
    if auth is None:
        return {}
    raw = json.dumps(auth.to_api()).encode()
    return {"X-Registry-Auth": base64.urlsafe_b64encode(raw).decode()}


class Response:
    """An open response whose body is read by the caller (streams)."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse):
        self._conn = conn
        self.raw = resp
        self.status = resp.status
        self.headers = resp.headers

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def is_json(self) -> bool:
        return self.content_type == "application/json"

    def read(self, n: int = -1) -> bytes:
        return self.raw.read() if n < 0 else self.raw.read1(n)

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        while True:
            data = self.raw.read1(size)
            if not data:
                return
            yield data

    def json(self) -> Any:
        data = self.raw.read()
        return json.loads(data) if data.strip() else None

    def close(self) -> None:
        self.raw.close()
        self._conn.close()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Client:
    def __init__(self, host: str | None = None, version: str = API_VERSION,
                 timeout: float | None = None, tls: "TLSConfig | None" = None):
        self.host_url = hosts.resolve(host)
        self.host = hosts.parse(self.host_url)
        self.version = version
        self.timeout = timeout
        self.tls = tls if self.host.scheme == "tcp" else None

    # --- plumbing ----------------------------------------------------------

    def url(self, path: str, params: Params | None = None) -> str:
        return url(self.version, path, params)

    def request(self, method: str, path: str, params: Params | None = None,
                body: Any = None, headers: Mapping[str, str] | None = None, *,
                version: str | None = None) -> Response:
        """Send a request; return the open response, or raise APIError (>= 400).

        `body` may be JSON-able (dict/list), bytes, or a binary file / iterator of
        bytes, which http.client sends chunked when its size is unknown."""
        all_headers = {"User-Agent": "pyctr"}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        elif body is not None and not isinstance(body, (bytes, bytearray)):
            all_headers["Content-Type"] = "application/octet-stream"
        all_headers.update(headers or {})
        if body is None and method in ("POST", "PUT"):
            body = b""  # explicit Content-Length: 0, some servers insist on it
        conn = connection.open_connection(self.host, self.timeout, self.tls)
        try:
            try:
                target = url(self.version if version is None else version, path, params)
                conn.request(method, target, body=body, headers=all_headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the daemon answered before reading all of the body: read the answer
            resp = conn.getresponse()
        except (ssl.SSLError, ConnectionResetError) as exc:
            conn.close()
            if self.tls is None and isinstance(exc, ConnectionResetError):
                raise connection.unreachable(self.host, exc) from None
            raise connection.tls_failure(self.host, exc) from None
        except (ConnectionRefusedError, FileNotFoundError, PermissionError) as exc:
            conn.close()
            raise connection.unreachable(self.host, exc) from None
        except OSError as exc:
            conn.close()
            if isinstance(exc, ConnectionError) or exc.errno in (111, 2, 13):
                raise connection.unreachable(self.host, exc) from None
            raise
        except BaseException:
            conn.close()
            raise
        if resp.status >= 400:
            try:
                raise APIError(resp.status, connection.error_message(resp.read(), resp.reason))
            finally:
                conn.close()
        return Response(conn, resp)

    def json(self, method: str, path: str, params: Params | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None, *, version: str | None = None) -> Any:
        with self.request(method, path, params, body, headers, version=version) as resp:
            return resp.json()

    def call(self, method: str, path: str, params: Params | None = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> None:
        """A request whose answer carries nothing we need (204s)."""
        with self.request(method, path, params, body, headers) as resp:
            resp.read()

    def hijack(self, method: str, path: str, params: Params | None = None,
               body: Any = None) -> connection.Hijacked:
        data = json.dumps(body).encode() if body is not None else b""
        return connection.hijack(self.host, method, self.url(path, params), data, tls=self.tls)

    # --- system ------------------------------------------------------------

    def ping(self) -> str:
        with self.request(*E.PING.at()) as resp:
            return resp.read().decode("utf-8", "replace")

    def version_info(self) -> VersionInfo:
        return models.read(VersionInfo, self.json(*E.VERSION.at()) or {})

    def info(self) -> SystemInfo:
        return models.system_info(self.json(*E.INFO.at()) or {})

    def events(self, since: str | None = None, until: str | None = None, filters: dict | None = None,
               modern: bool = False) -> Response:
        """The event stream; `modern` asks at v1.41, whose events carry Type, Action and Actor."""
        params = {"since": since or None, "until": until or None,
                  "filters": json.dumps(filters) if filters else None}
        return self.request(*E.EVENTS.at(), params, version=MODERN_API_VERSION if modern else None)

    def auth(self, auth: models.AuthConfig) -> dict:
        return self.json(*E.AUTH.at(), body=auth.to_api()) or {}

    # --- containers --------------------------------------------------------

    def containers(self, all: bool = False, limit: int = -1, since: str = "", before: str = "",
                   size: bool = False, filters: dict | None = None) -> list[ContainerSummary]:
        params = {
            "all": True if all else None,
            "limit": limit if limit != -1 else None,
            "since": since or None,
            "before": before or None,
            "size": True if size else None,
            "filters": Filters.of(filters).to_json(self.version or None) if filters else None,
        }
        return models.read_list(ContainerSummary, self.json(*E.CONTAINER_LIST.at(), params))

    def create_container(self, config: ContainerConfig,
                         host_config: HostConfig | None = None,
                         name: str = "") -> tuple[str, list[str]]:
        body = models.create_body(config, host_config)
        result = self.json(*E.CONTAINER_CREATE.at(), {"name": name or None}, body) or {}
        return result.get("Id") or "", list(result.get("Warnings") or [])

    def create_container_modern(self, config: ContainerConfig, host_config: HostConfig,
                                endpoints: dict[str, dict] | None = None,
                                name: str = "") -> tuple[str, list[str]]:
        """POST /containers/create at v1.41 with every option of today's `run`."""
        body = models.modern_create_body(config, host_config, endpoints)
        result = self.json(*E.CONTAINER_CREATE.at(), {"name": name or None}, body,
                           version=models.MODERN_REQUEST_VERSION) or {}
        return result.get("Id") or "", list(result.get("Warnings") or [])

    def inspect_container(self, name: str) -> dict:
        return self.json(*E.CONTAINER_INSPECT.at(name))

    def start(self, name: str, host_config: HostConfig | None = None) -> None:
        body = models.host_config_body(host_config) if host_config is not None else None
        self.call(*E.CONTAINER_START.at(name), body=body)

    def stop(self, name: str, timeout: int = 10) -> None:
        self.call(*E.CONTAINER_STOP.at(name), {"t": timeout})

    def restart(self, name: str, timeout: int = 10) -> None:
        self.call(*E.CONTAINER_RESTART.at(name), {"t": timeout})

    def kill(self, name: str, signal: str | None = None) -> None:
        self.call(*E.CONTAINER_KILL.at(name), {"signal": signal or None})

    def pause(self, name: str) -> None:
        self.call(*E.CONTAINER_PAUSE.at(name))

    def unpause(self, name: str) -> None:
        self.call(*E.CONTAINER_UNPAUSE.at(name))

    def rename(self, name: str, new_name: str) -> None:
        self.call(*E.CONTAINER_RENAME.at(name), {"name": new_name})

    def stats(self, name: str, stream: bool = True) -> Response:
        """The stats endpoint: one JSON reading per line while `stream`, else one reading.

        Asked at v1.41, as today's docker CLI does: the endpoint is younger than the
        client's v1.14, and v1.41 gives a stopped container's empty reading."""
        return self.request(*E.CONTAINER_STATS.at(name), {"stream": stream}, version=MODERN_API_VERSION)

    def update(self, name: str, body: dict) -> list[str]:
        """POST an UpdateConfig (docker's field names); returns the daemon's warnings.
        At v1.41, as the endpoint is younger (v1.22) than the client's v1.14."""
        with self.request(*E.CONTAINER_UPDATE.at(name), body=body, version=MODERN_API_VERSION) as resp:
            answer = resp.json() or {}
        return [str(w) for w in answer.get("Warnings") or []]

    # Named volumes (API 1.21+), asked at v1.41 with docker's field names.
    def volumes(self, filters: dict | None = None) -> dict:
        params = {"filters": json.dumps(filters) if filters else None}
        return self.json("GET", "/volumes", params, version=MODERN_API_VERSION) or {}

    def create_volume(self, body: dict) -> dict:
        return self.json("POST", "/volumes/create", body=body, version=MODERN_API_VERSION) or {}

    def inspect_volume(self, name: str) -> dict:
        return self.json("GET", f"/volumes/{E.quote_name(name)}", version=MODERN_API_VERSION) or {}

    def remove_volume(self, name: str, force: bool = False) -> None:
        with self.request("DELETE", f"/volumes/{E.quote_name(name)}", {"force": True if force else None},
                          version=MODERN_API_VERSION):
            pass

    def prune_volumes(self, filters: dict | None = None) -> dict:
        params = {"filters": json.dumps(filters) if filters else None}
        return self.json("POST", "/volumes/prune", params, version=MODERN_API_VERSION) or {}

    def prune(self, what: str, params: dict | None = None) -> dict:
        """POST /{what}/prune (containers, images, build) at v1.41; `params` as given,
        a dict `filters` sent as JSON."""
        params = dict(params or {})
        if params.get("filters") is not None and not isinstance(params["filters"], str):
            params["filters"] = json.dumps(params["filters"]) if params["filters"] else None
        return self.json("POST", f"/{what}/prune", params, version=MODERN_API_VERSION) or {}

    def inspect_modern(self, kind: str, name: str, size: bool = False, object_hook: Any = None) -> dict:
        """GET /containers|images/NAME/json at v1.41, as the docker CLI 28 asks it;
        `object_hook` as in inspect_network."""
        path = f"/{kind}/{E.quote_name(name)}/json"
        with self.request("GET", path, {"size": True if size else None}, version=MODERN_API_VERSION) as resp:
            return json.loads(resp.read(), object_pairs_hook=object_hook) or {}

    def list_modern(self, kind: str, params: dict) -> list[dict]:
        """GET /containers/json or /images/json at v1.41 as raw records (the docker CLI
        28's `--format` fields need Mounts, State, SharedSize...); a dict `filters` as JSON."""
        params = {k: v for k, v in params.items() if v not in (None, False, "", -1)}
        if isinstance(params.get("filters"), dict):
            params["filters"] = json.dumps(params["filters"]) if params["filters"] else None
        return self.json("GET", f"/{kind}/json", params, version=MODERN_API_VERSION) or []

    def disk_usage(self) -> dict:
        return self.json("GET", "/system/df", version=MODERN_API_VERSION) or {}

    # Networks (API 1.21+), asked at v1.41 with docker's field names.
    def networks(self, filters: dict | None = None) -> list[dict]:
        params = {"filters": json.dumps(filters) if filters else None}
        return self.json("GET", "/networks", params, version=MODERN_API_VERSION) or []

    def create_network(self, body: dict) -> dict:
        return self.json("POST", "/networks/create", body=body, version=MODERN_API_VERSION) or {}

    def inspect_network(self, name: str, verbose: bool = False, object_hook: Any = None) -> dict:
        """`object_hook`: the class each decoded object is made as (the CLI keeps the daemon's order)."""
        with self.request("GET", f"/networks/{E.quote_name(name)}", {"verbose": True if verbose else None},
                          version=MODERN_API_VERSION) as resp:
            return json.loads(resp.read(), object_pairs_hook=object_hook) or {}

    def remove_network(self, name: str) -> None:
        with self.request("DELETE", f"/networks/{E.quote_name(name)}", version=MODERN_API_VERSION):
            pass

    def connect_network(self, network: str, body: dict) -> None:
        with self.request("POST", f"/networks/{E.quote_name(network)}/connect", body=body,
                          version=MODERN_API_VERSION) as resp:
            resp.read()

    def disconnect_network(self, network: str, body: dict) -> None:
        with self.request("POST", f"/networks/{E.quote_name(network)}/disconnect", body=body,
                          version=MODERN_API_VERSION) as resp:
            resp.read()

    def prune_networks(self, filters: dict | None = None) -> dict:
        params = {"filters": json.dumps(filters) if filters else None}
        return self.json("POST", "/networks/prune", params, version=MODERN_API_VERSION) or {}

    def wait_begin(self, name: str, condition: str) -> "Response":
        """Open a `wait` (v1.30: the daemon answers its headers once the wait is in place),
        so a container started after this returns cannot exit or be removed unseen.
        Read the exit code with `wait_end`."""
        return self.request(*E.CONTAINER_WAIT.at(name), {"condition": condition},
                            version=MODERN_API_VERSION)

    @staticmethod
    def wait_end(opened: "Response") -> int:
        with opened:
            return int((opened.json() or {}).get("StatusCode") or 0)

    def wait(self, name: str, condition: str = "") -> int:
        """The exit code; `condition` (v1.30): not-running, next-exit or removed."""
        if condition:
            result = self.json(*E.CONTAINER_WAIT.at(name), {"condition": condition},
                               version=MODERN_API_VERSION) or {}
        else:
            result = self.json(*E.CONTAINER_WAIT.at(name)) or {}
        return int(result.get("StatusCode") or 0)

    def remove_container(self, name: str, volumes: bool = False, force: bool = False,
                         link: bool = False) -> None:
        params = {"v": True if volumes else None, "force": True if force else None,
                  "link": True if link else None}
        self.call(*E.CONTAINER_REMOVE.at(name), params)

    def attach(self, name: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               stream: bool = True, logs: bool = False, detach_keys: str = "") -> connection.Hijacked:
        params = {"logs": True if logs else None, "stream": True if stream else None,
                  "stdin": True if stdin else None, "stdout": True if stdout else None,
                  "stderr": True if stderr else None, "detachKeys": detach_keys or None}
        return self.hijack(*E.CONTAINER_ATTACH.at(name), params)

    def exec_create(self, container: str, cmd: list[str], *, stdin: bool = False, tty: bool = False,
                    user: str = "", env: list[str] | None = None, workdir: str = "",
                    privileged: bool = False) -> str:
        body = {"AttachStdin": stdin, "AttachStdout": True, "AttachStderr": True, "Tty": tty,
                "Cmd": cmd, "User": user, "Env": env or [], "WorkingDir": workdir,
                "Privileged": privileged}
        return self.json(*E.EXEC_CREATE.at(container), body=body)["Id"]

    def exec_start(self, exec_id: str, tty: bool = False) -> connection.Hijacked:
        return self.hijack(*E.EXEC_START.at(exec_id), body={"Detach": False, "Tty": tty})

    def exec_start_detached(self, exec_id: str) -> None:
        self.call(*E.EXEC_START.at(exec_id), body={"Detach": True})

    def exec_inspect(self, exec_id: str) -> dict:
        return self.json(*E.EXEC_INSPECT.at(exec_id))

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self.call(*E.EXEC_RESIZE.at(exec_id), {"h": height, "w": width})

    def resize(self, name: str, height: int, width: int) -> None:
        self.call(*E.CONTAINER_RESIZE.at(name), {"h": height, "w": width})

    def logs(self, name: str, follow: bool = False, timestamps: bool = False, tail: str = "all",
             stdout: bool = True, stderr: bool = True) -> Response:
        params = {"stdout": stdout, "stderr": stderr, "timestamps": True if timestamps else None,
                  "follow": True if follow else None, "tail": tail}
        return self.request(*E.CONTAINER_LOGS.at(name), params)

    def top(self, name: str, ps_args: str = "") -> ProcessList:
        data = self.json(*E.CONTAINER_TOP.at(name), {"ps_args": ps_args or None})
        return models.read(ProcessList, data or {})

    def changes(self, name: str) -> list[FileChange]:
        return models.read_list(FileChange, self.json(*E.CONTAINER_CHANGES.at(name)))

    def export(self, name: str) -> Response:
        return self.request(*E.CONTAINER_EXPORT.at(name))

    def copy(self, name: str, resource: str) -> Response:
        return self.request(*E.CONTAINER_COPY.at(name), body={"Resource": resource})

    def commit(self, container: str, repo: str = "", tag: str = "", message: str = "",
               author: str = "", pause: bool = True, config: dict | None = None) -> str:
        params = {"container": container, "repo": repo or None, "tag": tag or None,
                  # v1.14 documents `m`; Docker's own server read `comment`. Send both.
                  "m": message or None, "comment": message or None,
                  "author": author or None, "pause": None if pause else False}
        result = self.json(*E.COMMIT.at(), params, body=config if config is not None else {})
        return (result or {}).get("Id") or ""

    # --- images ------------------------------------------------------------

    def images(self, all: bool = False, filters: dict | None = None,
               name: str = "", digests: bool = False) -> list[ImageSummary]:
        params = {"all": True if all else None,
                  "filters": Filters.of(filters).to_json(self.version or None) if filters else None,
                  "filter": name or None}
        saved = self.version
        if digests and self.version and self.version < "1.18":
            self.version = "1.18"  # RepoDigests came with API v1.18
        try:
            found = self.json(*E.IMAGE_LIST.at(), params) or []
        finally:
            self.version = saved
        return models.image_summaries(found)

    def inspect_image(self, name: str) -> dict:
        return self.json(*E.IMAGE_INSPECT.at(name))

    def history(self, name: str) -> list[HistoryEntry]:
        return models.read_list(HistoryEntry, self.json(*E.IMAGE_HISTORY.at(name)))

    def tag(self, name: str, repo: str, tag: str = "", force: bool = False) -> None:
        self.call(*E.IMAGE_TAG.at(name),
                  {"repo": repo, "tag": tag or None, "force": True if force else None})

    def remove_image(self, name: str, force: bool = False,
                     noprune: bool = False) -> list[ImageDeleted]:
        params = {"force": True if force else None, "noprune": True if noprune else None}
        return models.read_list(ImageDeleted, self.json(*E.IMAGE_REMOVE.at(name), params))

    def import_image(self, src: str, repo: str = "", tag: str = "", body: Any = None) -> Response:
        """POST /images/create?fromSrc=: `src` is a URL, or "-" with the tarball as body."""
        params = {"fromSrc": src, "repo": repo or None, "tag": tag or None}
        headers = {"Content-Type": "application/x-tar"} if body is not None else None
        return self.request(*E.IMAGE_CREATE.at(), params, body, headers)

    def pull(self, image: str, tag: str = "", auth: models.AuthConfig | None = None) -> Response:
        return self.request(*E.IMAGE_CREATE.at(), {"fromImage": image, "tag": tag or None},
                            headers=registry_auth(auth))

    def push(self, name: str, tag: str = "", auth: models.AuthConfig | None = None) -> Response:
        return self.request(*E.IMAGE_PUSH.at(name), {"tag": tag or None},
                            headers=registry_auth(auth or models.AuthConfig()))

    def search(self, term: str, auth: models.AuthConfig | None = None) -> list[SearchResult]:
        return models.search_results(self.json(*E.IMAGE_SEARCH.at(), {"term": term},
                                               headers=registry_auth(auth)))

    def get_image(self, name: str) -> Response:
        return self.request(*E.IMAGE_SAVE.at(name))

    def load_image(self, body: Any) -> Response:
        return self.request(*E.IMAGE_LOAD.at(), body=body,
                            headers={"Content-Type": "application/x-tar"})

    def build(self, body: Any, params: Params, headers: Mapping[str, str] | None = None) -> Response:
        all_headers = {"Content-Type": "application/tar"}
        all_headers.update(headers or {})
        return self.request(*E.BUILD.at(), params, body, all_headers)
