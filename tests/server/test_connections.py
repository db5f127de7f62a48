"""The server's request decoding and error path, and its connection guard
(engine/server/connections.py), on the real app over a unix socket in this process:
the issue's examples each get a 4xx, a failing stream is cut instead of getting a
500 status line in its body, HTTP/0.9 gets a 400, silent and slow heads are closed,
a connection beyond the limit gets a 503, and a repeated error is logged once per
interval."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import tempfile
from contextlib import asynccontextmanager

from aiohttp import web

from fuzz.client import exchange, request_bytes
from pyctr.engine.jobs import Engine
from pyctr.engine.server.app import build_app
from pyctr.engine.server.connections import ConnectionGate, GuardedSite
from pyctr.engine.server.limits import ConnectionLimits, RateLimitedLog
from pyctr.engine.server.router import Route, add_routes
from pyctr.engine.server.wire import MAX_JSON_DEPTH, parse_json


async def failing_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(b"partial output\n")
    raise RuntimeError("the stream's source broke")


@asynccontextmanager
async def serving(limits: ConnectionLimits = ConnectionLimits(header_timeout=1, idle_timeout=3, body_timeout=1)):
    app = build_app(Engine())   # no job handlers: a request that gets past parsing ends in "no such job"
    add_routes(app, [Route("GET", "/test/failing-stream", failing_stream)])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "api.sock")
        import socket
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
        runner = web.AppRunner(app, handle_signals=False, keepalive_timeout=limits.idle_timeout)
        await runner.setup()
        await GuardedSite(runner, sock, ConnectionGate(limits)).start()
        try:
            yield path
        finally:
            await runner.cleanup()


def ask(path: str, data: bytes, **kwargs):
    return asyncio.to_thread(exchange, path, data, **kwargs)


GO_TYPE_ERROR = "json: cannot unmarshal array into Go value of type map[string]bool"


def test_the_issues_bad_requests_get_a_4xx_with_a_clear_message():
    deep = b"[" * 100_000 + b"]" * 100_000
    just_too_deep = json.dumps(json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))).encode()
    cases = [
        ("POST", "/containers/create", deep, "nested deeper"),
        ("POST", "/v1.14/containers/x/start", deep, "nested deeper"),
        ("POST", "/containers/x/exec", deep, "nested deeper"),
        ("POST", "/commit?container=x", deep, "nested deeper"),
        ("POST", "/containers/create", b'{"Image": ' + just_too_deep + b"}", "nested deeper"),
        ("GET", "/containers/x/top?ps_args=a%00b", None, "NUL"),
        ("GET", "/containers/a%00b/json", None, "NUL"),
        ("POST", "/auth", b'{"username": "u", "serveraddress": 5}', "serveraddress must be a string"),
        # filters are read as dockerd reads them (api/filters.py), and refused in its words
        ("GET", '/containers/json?filters={"exited":[null]}', None, GO_TYPE_ERROR),
        ("GET", "/containers/json?filters=" + "[" * 5000, None, "nested too deeply"),
        ("GET", "/images/json?filters=" + "[" * 5000, None, "nested too deeply"),
        ("GET", '/events?filters={"container":[[1]]}', None, GO_TYPE_ERROR),
        ("POST", "/containers/create", b'{"Image": "b", "Memory": 1e999}', "out of range"),
        ("POST", "/containers/create", b'{"Image": "b", "Cmd": ["a\\u0000b"]}', "NUL"),
        ("POST", "/containers/create", b'{"Image": "\\ud800"}', "lone surrogate"),
        ("POST", "/containers/create", b"\xff\xfe", "invalid JSON"),
    ]

    async def run() -> list[str]:
        wrong = []
        async with serving() as path:
            for method, target, body, words in cases:
                target = target.replace('"', "%22").replace("{", "%7B").replace("}", "%7D")
                out = await ask(path, request_bytes(method, target, {}, body))
                if out.status != 400 or words not in out.message():
                    wrong.append(f"{method} {target[:60]}: {out.status} {out.message()[:120]}")
            big = b'{"Image": "' + b"a" * (33 << 20) + b'"}'
            out = await ask(path, request_bytes("POST", "/containers/create", {}, big))
            if out.status != 413:
                wrong.append(f"a 33 MiB body: {out.status}")
        return wrong

    assert asyncio.run(run()) == []


def test_registry_auth_header_with_deep_json_is_400():
    async def run():
        async with serving() as path:
            header = base64.b64encode(b"[" * 3000).decode()   # within the 8 KiB header limit
            return await ask(path, request_bytes("GET", "/images/search?term=x", {"X-Registry-Auth": header}))

    out = asyncio.run(run())
    assert out.status == 400 and "X-Registry-Auth" in out.message(), out


def test_a_stream_that_fails_is_cut_not_given_a_500_status_line():
    async def run():
        async with serving() as path:
            return await ask(path, request_bytes("GET", "/test/failing-stream"))

    out = asyncio.run(run())
    assert out.status == 200
    assert b"partial output" in out.body
    assert b"500" not in out.body and b"HTTP/1" not in out.body
    assert out.closed and not out.body.endswith(b"0\r\n\r\n")   # no last chunk: the client knows


def test_http09_gets_a_400_in_http11_terms():
    async def run():
        async with serving() as path:
            return await ask(path, b"GET /_ping\r\n\r\n")

    out = asyncio.run(run())
    assert out.status == 400 and out.status_line.startswith(b"HTTP/1."), out
    assert b"HTTP/0.9 is not supported" in out.body


def test_silent_connection_closed_and_unfinished_head_gets_408():
    async def run():
        async with serving() as path:
            silent = await ask(path, b"", answer_timeout=10)
            partial = await ask(path, b"GET /_ping HTTP/1.1\r\nHost: x\r\n", answer_timeout=10)
            stalled_body = await ask(path, b"POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
                                     answer_timeout=10)
            return silent, partial, stalled_body

    silent, partial, stalled_body = asyncio.run(run())
    assert silent.status is None and silent.closed and not silent.problem, silent
    assert partial.status == 408, partial
    assert stalled_body.status == 408 and b"stopped arriving" in stalled_body.body, stalled_body


def test_connections_beyond_the_limit_get_503_and_the_rest_are_served():
    import socket

    async def run():
        async with serving(ConnectionLimits(header_timeout=5, idle_timeout=5, max_connections=3)) as path:
            held = []
            for _ in range(3):
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                held.append(s)
            await asyncio.sleep(0.2)
            refused = await ask(path, request_bytes("GET", "/_ping"))
            for s in held:
                s.close()
            await asyncio.sleep(0.2)
            served = await ask(path, request_bytes("GET", "/_ping"))
            return refused, served

    refused, served = asyncio.run(run())
    assert refused.status == 503 and "too many connections" in refused.message(), refused
    assert served.status == 200, served


def test_a_refused_client_that_writes_late_reads_its_503_not_a_broken_pipe():
    """The docker CLI connects, then writes: a refusal sent and closed at once would give
    it EPIPE on its write ("broken pipe") instead of the 503's words. A silent refused
    connection is still closed after the grace."""
    import socket
    import time

    async def run():
        async with serving(ConnectionLimits(header_timeout=5, idle_timeout=5, max_connections=1)) as path:
            held = socket.socket(socket.AF_UNIX)
            held.connect(path)
            await asyncio.sleep(0.2)

            def late_writer() -> bytes:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    time.sleep(0.5)   # the server has accepted (and decided) by now
                    s.sendall(request_bytes("GET", "/_ping"))   # raises BrokenPipeError if closed
                    s.settimeout(5)
                    answer = b""
                    while chunk := s.recv(4096):
                        answer += chunk
                    return answer
                finally:
                    s.close()

            def silent() -> float:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    started = time.monotonic()
                    s.settimeout(10)
                    data = s.recv(4096)
                    assert data.startswith(b"HTTP/1.1 503"), data
                    while s.recv(4096):
                        pass
                    return time.monotonic() - started
                finally:
                    s.close()

            answers = await asyncio.gather(*[asyncio.to_thread(late_writer) for _ in range(5)])
            waited = await asyncio.to_thread(silent)
            held.close()
            return answers, waited

    answers, waited = asyncio.run(run())
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer, answer
    assert waited < 5, waited   # the grace, not the header timeout


def test_repeated_error_is_logged_once_per_interval(caplog):
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("test.ratelimit"), interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.ratelimit"):
        for step in range(100):      # 100 tries in 20 s
            now[0] = step * 0.2
            limited.log("accept", logging.ERROR, "accept failed: %s", "Too many open files")
        limited.log("other", logging.ERROR, "another error")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "accept failed: Too many open files"
    assert messages[1].startswith("accept failed: Too many open files (and 49 more like it")
    assert messages[2] == "another error"
    assert len(messages) == 3


def test_parse_json_depth_is_checked_without_recursion():
    assert parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, "x")
    for text in (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b"[" * 10 ** 6):
        try:
            parse_json(text, "x")
        except Exception as exc:
            assert "nested deeper" in str(exc) or "invalid JSON" in str(exc)
            assert type(exc).__name__ == "BadRequest"
        else:
            raise AssertionError("deep JSON accepted")
