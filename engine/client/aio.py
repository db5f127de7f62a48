"""The asynchronous API client (aiohttp) that the TUI uses: the same endpoints as
the sync client in api.py, with the streams (events, logs, stats, pull progress,
attach) as async iterators, so one event loop can follow many of them.

The daemon is found as the sync client finds it (`-H`, PYCTR_HOST, DOCKER_HOST,
unix:///var/run/pyctr.sock). Errors are the sync client's: `APIError(status,
message)` with the daemon's own message, `DaemonUnreachable` when nothing
listens; a stream the daemon drops half-way raises `ConnectionLost`.

Every request opens a fresh connection (`force_close`): on a unix socket that
costs little, and a daemon that restarts leaves no stale pooled connection.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Mapping

import aiohttp

from ..api.config import ContainerConfig, HostConfig
from ..api.records import ContainerSummary, ImageDeleted, ImageSummary, ProcessList, SystemInfo, VersionInfo
from . import hosts, models
from . import endpoints as E
from .api import registry_auth
from .endpoints import API_VERSION, Params, url
from .errors import APIError, ClientError, DaemonUnreachable, StreamError
from .streams import STDERR, STDOUT, Demuxer
from .connection import error_message

CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0
LOG_SLICE = 65536


class ConnectionLost(ClientError):
    """The daemon closed a stream before its end (it stopped or restarted)."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(f"Lost the connection to the pyctr daemon at {url}")


# --- records of the streams ------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One message of GET /events."""
    status: str
    id: str
    image: str = ""
    time: int = 0
    time_nano: int = 0
    type: str = "container"
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> "Event":
        actor = data.get("Actor") if isinstance(data.get("Actor"), dict) else {}
        attrs = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
        time_s = models._int(data.get("time"))
        return cls(str(data.get("status") or data.get("Action") or ""),
                   str(data.get("id") or actor.get("ID") or ""), str(data.get("from") or ""),
                   time_s, models._int(data.get("timeNano")) or time_s * 1_000_000_000,
                   str(data.get("Type") or "container"), {str(k): str(v) for k, v in attrs.items()})


@dataclass(frozen=True)
class StatsSample:
    """What the TUI needs from one reading of GET /containers/(id)/stats."""
    read: str
    cpu_percent: float          # of one CPU, as `docker stats` shows it (may exceed 100)
    memory_usage: int
    memory_limit: int
    pids: int

    @property
    def memory_percent(self) -> float:
        return 100.0 * self.memory_usage / self.memory_limit if self.memory_limit else 0.0

    @classmethod
    def from_api(cls, data: dict) -> "StatsSample":
        cpu, pre = data.get("cpu_stats") or {}, data.get("precpu_stats") or {}
        total = models._int((cpu.get("cpu_usage") or {}).get("total_usage"))
        pre_total = models._int((pre.get("cpu_usage") or {}).get("total_usage"))
        system = models._int(cpu.get("system_cpu_usage"))
        pre_system = models._int(pre.get("system_cpu_usage"))
        ncpu = len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or _online_cpus()
        percent = 0.0
        if pre_system and system > pre_system and total >= pre_total:
            percent = (total - pre_total) / (system - pre_system) * ncpu * 100.0
        memory = data.get("memory_stats") or {}
        return cls(str(data.get("read") or ""), percent, models._int(memory.get("usage")),
                   models._int(memory.get("limit")),
                   models._int((data.get("pids_stats") or {}).get("current")))


def _online_cpus() -> int:
    import os
    return os.cpu_count() or 1


class JSONMessages:
    """Incremental decoder of a stream of concatenated JSON objects (any spacing)."""

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._text = ""

    def feed(self, data: bytes) -> list[dict]:
        self._text += self._utf8.decode(data)
        out, pos, text = [], 0, self._text
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = self._decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                break   # an object cut in two: wait for the rest
            if isinstance(obj, dict):
                out.append(obj)
        self._text = text[pos:]
        return out


# --- attach ------------------------------------------------------------------


class AttachStream:
    """A hijacked attach connection: raw bytes both ways after `101 UPGRADED`.

    `output()` yields (stream, bytes): the raw stream of a TTY container as stdout,
    or the demultiplexed frames of a non-TTY one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 tty: bool, first: bytes = b""):
        self.reader, self.writer, self.tty = reader, writer, tty
        self._first = first

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        demuxer = None if self.tty else Demuxer()
        data = self._first
        self._first = b""
        while True:
            if not data:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, OSError):
                    return
                if not data:
                    return
            if demuxer is None:
                yield STDOUT, data
            else:
                for item in demuxer.feed(data):
                    yield item
            data = b""

    async def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionLost("attach")
        self.writer.write(data)
        await self.writer.drain()

    def close_write(self) -> None:
        if self.writer.can_write_eof() and not self.writer.is_closing():
            try:
                self.writer.write_eof()
            except OSError:
                pass

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


# --- the client ----------------------------------------------------------------


class AsyncClient:
    def __init__(self, host: str | None = None, version: str = API_VERSION):
        self.host_url = hosts.resolve(host)
        self.host = hosts.parse(self.host_url)
        self.version = version
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if self.host.scheme == "unix":
                connector: aiohttp.BaseConnector = aiohttp.UnixConnector(self.host.path,
                                                                         force_close=True)
            else:
                connector = aiohttp.TCPConnector(force_close=True)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": "pyctr-tui"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- plumbing --------------------------------------------------------

    def url(self, path: str, params: Params | None = None) -> str:
        return url(self.version, path, params)

    @property
    def _base(self) -> str:
        if self.host.scheme == "unix":
            return "http://localhost"
        return f"http://{self.host.hostname}:{self.host.port}"

    async def request(self, method: str, path: str, params: Params | None = None,
                      body: Any = None, headers: Mapping[str, str] | None = None,
                      timeout: float | None = REQUEST_TIMEOUT) -> aiohttp.ClientResponse:
        """Send a request; return the open response (the caller releases it), or
        raise APIError for a status >= 400, DaemonUnreachable when nobody answers."""
        all_headers = dict(headers or {})
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        elif body is not None:
            data = body
        elif method in ("POST", "PUT"):
            data = b""
        try:
            resp = await self.session.request(
                method, self._base + self.url(path, params), data=data, headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=CONNECT_TIMEOUT))
        except aiohttp.ClientConnectorError as exc:
            reason = "permission" if isinstance(exc.os_error, PermissionError) else "refused"
            raise DaemonUnreachable(self.host.url, reason) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:   # dropped, timed out, closed
            raise ConnectionLost(self.host.url) from exc
        if resp.status >= 400:
            try:
                raw = await resp.read()
            except aiohttp.ClientError:
                raw = b""
            finally:
                resp.release()
            raise APIError(resp.status, error_message(raw, resp.reason or ""))
        return resp

    async def json(self, method: str, path: str, params: Params | None = None,
                   body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        resp = await self.request(method, path, params, body, headers)
        try:
            raw = await resp.read()
        except aiohttp.ClientError as exc:
            raise ConnectionLost(self.host.url) from exc
        finally:
            resp.release()
        return json.loads(raw) if raw.strip() else None

    async def call(self, method: str, path: str, params: Params | None = None,
                   body: Any = None, timeout: float | None = REQUEST_TIMEOUT) -> None:
        resp = await self.request(method, path, params, body, timeout=timeout)
        try:
            await resp.read()
        except aiohttp.ClientError as exc:
            raise ConnectionLost(self.host.url) from exc
        finally:
            resp.release()

    async def _chunks(self, resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """The body of a streaming response as it comes; ConnectionLost if cut short."""
        try:
            async for data in resp.content.iter_any():
                yield data
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError, ConnectionError) as exc:
            raise ConnectionLost(self.host.url) from exc
        finally:
            resp.release()

    async def _messages(self, resp: aiohttp.ClientResponse) -> AsyncIterator[dict]:
        decoder = JSONMessages()
        async for data in self._chunks(resp):
            for message in decoder.feed(data):
                yield message

    # --- system ------------------------------------------------------------

    async def ping(self) -> str:
        resp = await self.request(*E.PING.at(), timeout=CONNECT_TIMEOUT)
        try:
            return (await resp.read()).decode("utf-8", "replace")
        finally:
            resp.release()

    async def version_info(self) -> VersionInfo:
        return models.read(VersionInfo, await self.json(*E.VERSION.at()) or {})

    async def info(self) -> SystemInfo:
        return models.system_info(await self.json(*E.INFO.at()) or {})

    async def events(self, since: int | None = None) -> AsyncIterator[Event]:
        """Follow the daemon's events (from `since`, unix seconds, when given)."""
        async for event in await self.subscribe_events(since):
            yield event

    async def subscribe_events(self, since: int | None = None) -> AsyncIterator[Event]:
        """Like `events`, but returns once the daemon has answered: from then on no
        event is missed, so a client can subscribe, then list, then follow."""
        resp = await self.request(*E.EVENTS.at(), {"since": since}, timeout=None)

        async def follow() -> AsyncIterator[Event]:
            async for message in self._messages(resp):
                yield Event.from_api(message)
        return follow()

    # --- containers ----------------------------------------------------------

    async def containers(self, all: bool = False) -> list[ContainerSummary]:
        data = await self.json(*E.CONTAINER_LIST.at(), {"all": True if all else None})
        return models.read_list(ContainerSummary, data)

    async def inspect_container(self, name: str) -> dict:
        return await self.json(*E.CONTAINER_INSPECT.at(name))

    async def create_container(self, config: ContainerConfig,
                               host_config: HostConfig | None = None,
                               name: str = "") -> tuple[str, list[str]]:
        result = await self.json(*E.CONTAINER_CREATE.at(), {"name": name or None},
                                 models.create_body(config, host_config)) or {}
        return result.get("Id") or "", list(result.get("Warnings") or [])

    async def start(self, name: str) -> None:
        await self.call(*E.CONTAINER_START.at(name))

    async def stop(self, name: str, timeout: int = 10) -> None:
        await self.call(*E.CONTAINER_STOP.at(name), {"t": timeout},
                        timeout=timeout + REQUEST_TIMEOUT)

    async def restart(self, name: str, timeout: int = 10) -> None:
        await self.call(*E.CONTAINER_RESTART.at(name), {"t": timeout},
                        timeout=timeout + REQUEST_TIMEOUT)

    async def kill(self, name: str, signal: str | None = None) -> None:
        await self.call(*E.CONTAINER_KILL.at(name), {"signal": signal or None})

    async def pause(self, name: str) -> None:
        await self.call(*E.CONTAINER_PAUSE.at(name))

    async def unpause(self, name: str) -> None:
        await self.call(*E.CONTAINER_UNPAUSE.at(name))

    async def remove_container(self, name: str, volumes: bool = False, force: bool = False) -> None:
        await self.call(*E.CONTAINER_REMOVE.at(name),
                        {"v": True if volumes else None, "force": True if force else None})

    async def top(self, name: str, ps_args: str = "") -> ProcessList:
        data = await self.json(*E.CONTAINER_TOP.at(name), {"ps_args": ps_args or None})
        return models.read(ProcessList, data or {})

    async def resize(self, name: str, height: int, width: int) -> None:
        await self.call(*E.CONTAINER_RESIZE.at(name), {"h": height, "w": width})

    async def logs(self, name: str, tty: bool, follow: bool = False, timestamps: bool = False,
                   tail: str = "all") -> AsyncIterator[tuple[int, bytes]]:
        """(stream, bytes) pieces: STDOUT or STDERR; a TTY container's log is all STDOUT."""
        params = {"stdout": True, "stderr": True, "timestamps": True if timestamps else None,
                  "follow": True if follow else None, "tail": tail}
        resp = await self.request(*E.CONTAINER_LOGS.at(name), params, timeout=None)
        demuxer = None if tty else Demuxer()
        async for data in self._chunks(resp):
            if demuxer is None:
                yield STDOUT, data
            else:
                for item in demuxer.feed(data):
                    yield item

    async def log_batches(self, name: str, tty: bool, follow: bool = False, timestamps: bool = False,
                          tail: str = "all") -> AsyncIterator[list[tuple[int, bytes]]]:
        """The (stream, bytes) pieces of `logs`, a list per at most LOG_SLICE bytes read: a
        reader that waits (`await`) between lists keeps its event loop free under a flood,
        which one piece per frame (a frame per line) does not."""
        params = {"stdout": True, "stderr": True, "timestamps": True if timestamps else None,
                  "follow": True if follow else None, "tail": tail}
        resp = await self.request(*E.CONTAINER_LOGS.at(name), params, timeout=None)
        demuxer = None if tty else Demuxer()
        async for data in self._chunks(resp):
            for start in range(0, len(data), LOG_SLICE):
                piece = data[start:start + LOG_SLICE]
                yield [(STDOUT, piece)] if demuxer is None else demuxer.feed(piece)

    async def stats(self, name: str, stream: bool = True) -> AsyncIterator[StatsSample]:
        resp = await self.request(*E.CONTAINER_STATS.at(name),
                                  {"stream": stream}, timeout=None)
        async for message in self._messages(resp):
            yield StatsSample.from_api(message)

    async def attach(self, name: str, tty: bool, stdin: bool = True, logs: bool = False,
                     stream: bool = True) -> AttachStream:
        """Hijack an attach connection (`Connection: Upgrade`, `Upgrade: tcp`)."""
        params = {"logs": True if logs else None, "stream": True if stream else None,
                  "stdin": True if stdin else None, "stdout": True, "stderr": True}
        method, path = E.CONTAINER_ATTACH.at(name)
        return await self.hijack(method, self.url(path, params), tty)

    async def exec_start(self, exec_id: str, tty: bool) -> AttachStream:
        """Start an exec made with `Attach*` and hijack its streams."""
        method, path = E.EXEC_START.at(exec_id)
        return await self.hijack(method, self.url(path), tty,
                                 json.dumps({"Detach": False, "Tty": tty}).encode())

    async def hijack(self, method: str, target: str, tty: bool, body: bytes = b"") -> AttachStream:
        """Send one request on a connection of its own and, when the daemon upgrades it
        (101, or a 200 without chunks), keep that connection as raw streams."""
        try:
            if self.host.scheme == "unix":
                reader, writer = await asyncio.wait_for(
                    asyncio.open_unix_connection(self.host.path), CONNECT_TIMEOUT)
            else:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host.hostname, self.host.port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            reason = "permission" if isinstance(exc, PermissionError) else "refused"
            raise DaemonUnreachable(self.host.url, reason) from None
        try:
            kind = "Content-Type: application/json\r\n" if body else ""
            writer.write((f"{method} {target} HTTP/1.1\r\n"
                          f"Host: localhost\r\nUser-Agent: pyctr-tui\r\nContent-Length: {len(body)}\r\n"
                          f"{kind}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise APIError(502, f"bad response from daemon: {status_line!r}")
            status = int(parts[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in header_lines if line)}
            if status in (101, 200) and "chunked" not in headers.get("transfer-encoding", ""):
                return AttachStream(reader, writer, tty)
            if headers.get("content-length", "").isdigit():
                body = await reader.readexactly(int(headers["content-length"]))
            elif "chunked" in headers.get("transfer-encoding", ""):
                body = await _dechunk(reader)
            else:
                body = await reader.read()
            raise APIError(status, error_message(body, parts[2] if len(parts) > 2 else ""))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            writer.close()
            raise ConnectionLost(self.host.url) from exc
        except BaseException:
            writer.close()
            raise

    # --- images --------------------------------------------------------------

    async def images(self, all: bool = False) -> list[ImageSummary]:
        data = await self.json(*E.IMAGE_LIST.at(), {"all": True if all else None})
        return models.image_summaries(data)

    async def inspect_image(self, name: str) -> dict:
        return await self.json(*E.IMAGE_INSPECT.at(name))

    async def tag(self, name: str, repo: str, tag: str = "", force: bool = False) -> None:
        await self.call(*E.IMAGE_TAG.at(name),
                        {"repo": repo, "tag": tag or None, "force": True if force else None})

    async def remove_image(self, name: str, force: bool = False) -> list[ImageDeleted]:
        data = await self.json(*E.IMAGE_REMOVE.at(name), {"force": True if force else None})
        return models.read_list(ImageDeleted, data)

    async def pull(self, image: str, tag: str = "",
                   auth: models.AuthConfig | None = None) -> AsyncIterator[dict]:
        """The JSON progress messages of `POST /images/create?fromImage=`; a message
        with `error` raises StreamError."""
        resp = await self.request(*E.IMAGE_CREATE.at(), {"fromImage": image, "tag": tag or None},
                                  headers=registry_auth(auth), timeout=None)
        async for message in self._messages(resp):
            if message.get("error"):
                detail = message.get("errorDetail") or {}
                raise StreamError(str(message["error"]), models._int(detail.get("code")))
            yield message


async def _dechunk(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return body
        body += await reader.readexactly(size)
        await reader.readline()


__all__ = ["AsyncClient", "AttachStream", "ConnectionLost", "Event", "StatsSample",
           "APIError", "DaemonUnreachable", "StreamError", "STDOUT", "STDERR"]
