"""The first answers (engine/server/early.py), on real unix sockets in this process: a
ping is answered before the app exists, with the bytes the app itself sends; any other
request waits, unanswered, until the app takes the connection over, and then gets the
app's answer on the same connection; after the hand-over new connections go to the app."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import tempfile
from contextlib import asynccontextmanager

from aiohttp import web

from certs import issue, make_ca
from pyctr.engine.jobs import Engine
from pyctr.engine.server.app import build_app
from pyctr.engine.server.connections import ConnectionGate, GuardedSite
from pyctr.engine.server.early import EarlyServer
from pyctr.engine.server.limits import ConnectionLimits

PINGS = [b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n",
         b"HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2\r\n\r\n",
         b"GET /_ping?x=1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n",
         b"GET /_ping HTTP/1.0\r\n\r\n",
         b"GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]


@asynccontextmanager
async def early_then_app(tls: ssl.SSLContext | None = None):
    """(socket path, or 127.0.0.1's port with `tls`; the early server; a coroutine that
    starts the app and hands over)."""
    with tempfile.TemporaryDirectory() as tmp:
        if tls is None:
            path: str | int = os.path.join(tmp, "api.sock")
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(path)
        else:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            path = sock.getsockname()[1]
        early = EarlyServer()
        server = await early.serve(sock, tls, 5)
        runner = web.AppRunner(build_app(Engine()), handle_signals=False)

        async def start_app() -> None:
            await runner.setup()
            site = GuardedSite(runner, sock, ConnectionGate(ConnectionLimits()), serving=server,
                               ssl_context=tls)
            await site.start()
            early.hand_over(site.protocol)

        try:
            yield path, early, start_app
        finally:
            early.close()
            await runner.cleanup()


def _without_date(answer: bytes) -> list[bytes]:
    return sorted(line for line in answer.split(b"\r\n") if not line.startswith(b"Date: "))


async def _read_answer(reader: asyncio.StreamReader, head_only: bool = False) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + (b"" if head_only else await asyncio.wait_for(reader.readexactly(length), 10))


async def _exchange(path: str, request: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(request)
    answer = await _read_answer(reader, request.startswith(b"HEAD"))
    writer.close()
    return answer


def test_the_early_ping_is_the_apps_ping():
    async def scenario() -> list[tuple[list[bytes], list[bytes]]]:
        async with early_then_app() as (path, early, start_app):
            early_answers = [await _exchange(path, ping) for ping in PINGS]
            await start_app()
            app_answers = [await _exchange(path, ping) for ping in PINGS]
        return [(_without_date(a), _without_date(b)) for a, b in zip(early_answers, app_answers)]

    for early_answer, app_answer in asyncio.run(scenario()):
        assert early_answer == app_answer
        assert b"HTTP/1.1 200 OK" in early_answer or b"HTTP/1.0 200 OK" in early_answer


def test_other_requests_wait_for_the_app_on_the_same_connection():
    async def scenario() -> tuple[bytes, bool, bytes, bytes, bytes]:
        async with early_then_app() as (path, early, start_app):
            reader, writer = await asyncio.open_unix_connection(path)
            # pipelined: a ping, a request the early server does not answer, a ping again
            writer.write(PINGS[0] + b"GET /v1.41/pyctr/jobs HTTP/1.1\r\nHost: d\r\n\r\n" + PINGS[0])
            first = await _read_answer(reader)
            try:
                await asyncio.wait_for(reader.read(1), 0.3)   # nothing more before the app
                answered_early = True
            except asyncio.TimeoutError:
                answered_early = False
            await start_app()
            jobs = await _read_answer(reader)
            second = await _read_answer(reader)
            writer.close()
            later = await _exchange(path, b"GET /v1.41/pyctr/jobs HTTP/1.1\r\nHost: d\r\n\r\n")
        return first, answered_early, jobs, second, later

    first, answered_early, jobs, second, later = asyncio.run(scenario())
    assert first.startswith(b"HTTP/1.1 200 OK") and first.endswith(b"\r\n\r\nOK")
    assert not answered_early
    assert jobs.startswith(b"HTTP/1.1 200 OK") and jobs.endswith(b"\r\n\r\n[]")   # the app's handler
    assert second.startswith(b"HTTP/1.1 200 OK") and second.endswith(b"\r\n\r\nOK")
    assert later.startswith(b"HTTP/1.1 200 OK") and later.endswith(b"\r\n\r\n[]")


def test_a_malformed_or_partial_head_is_left_to_the_app():
    async def scenario() -> tuple[bytes, bytes]:
        async with early_then_app() as (path, early, start_app):
            r1, w1 = await asyncio.open_unix_connection(path)
            w1.write(b"GET /_ping HTTP/1.1\r\n\r\n")   # HTTP/1.1 without Host: aiohttp's 400
            r2, w2 = await asyncio.open_unix_connection(path)
            w2.write(b"GET /_pi")                       # the rest comes after the hand-over
            while sum(bool(c._buffer) for c in early._connections) < 2:   # both arrived
                await asyncio.sleep(0.01)
            await start_app()
            w2.write(b"ng HTTP/1.1\r\nHost: d\r\n\r\n")
            answers = await _read_answer(r1), await _read_answer(r2)
            w1.close()
            w2.close()
        return answers

    no_host, completed = asyncio.run(scenario())
    assert no_host.startswith(b"HTTP/1.0 400") or no_host.startswith(b"HTTP/1.1 400")
    assert completed.startswith(b"HTTP/1.1 200 OK") and completed.endswith(b"OK")


def test_a_tls_connection_is_handed_over_too(tmp_path):
    ca, ca_cert, ca_key = make_ca(str(tmp_path), "ca")
    server_pair = issue(str(tmp_path), "server", ca_cert, ca_key, server=True)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(server_pair.cert, server_pair.key)
    client_tls = ssl.create_default_context(cafile=ca.cert)

    async def scenario() -> tuple[bytes, bytes]:
        async with early_then_app(server_tls) as (port, early, start_app):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls)
            writer.write(PINGS[0] + b"GET /v1.41/pyctr/jobs HTTP/1.1\r\nHost: d\r\n\r\n")
            ping = await _read_answer(reader)
            await start_app()
            jobs = await _read_answer(reader)
            writer.close()
        return ping, jobs

    ping, jobs = asyncio.run(scenario())
    assert ping.startswith(b"HTTP/1.1 200 OK") and ping.endswith(b"\r\n\r\nOK")
    assert jobs.startswith(b"HTTP/1.1 200 OK") and jobs.endswith(b"\r\n\r\n[]")


def test_a_body_sent_early_reaches_the_app_whole():
    """A request with a body (not a ping) is held with its body unread in the socket until
    the app takes over: the app's handler gets all of it (a 400 for what this one is)."""
    async def scenario() -> bytes:
        async with early_then_app() as (path, early, start_app):
            reader, writer = await asyncio.open_unix_connection(path)
            body = b"{" + b" " * 200_000 + b"bad"
            writer.write(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            while not any(c._held for c in early._connections):
                await asyncio.sleep(0.01)
            await start_app()
            answer = await _read_answer(reader)
            writer.close()
        return answer

    answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 400") and b"invalid JSON in request body" in answer
    assert b"line 1 column 200002" in answer   # it read to the end of the body
