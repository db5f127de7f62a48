"""Connection handling of the API server, by the settings of limits.py.

aiohttp parses the requests; this module guards the connections it parses them
on. A connection that sends no complete request head within `header_timeout`
(from its accept, or from the first byte of a later request) is closed, as Go's
`ReadHeaderTimeout` does; one that stays idle between requests longer than
`idle_timeout` is closed by aiohttp's keep-alive timer. Beyond `max_connections`
a new connection gets a 503 to its request and is closed within a short grace
(`Refused`), so an idle crowd cannot use up the daemon's descriptors; when accept()
fails all the same (EMFILE), asyncio pauses accepting for a second and the error is
logged once per interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion10
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_server import Server

from .limits import ERRORS, REFUSAL_GRACE, ConnectionLimits, refusal_budget

log = logging.getLogger("pyctr.server")


def _refusal(limit: int) -> bytes:
    body = json.dumps({"message": f"too many connections: the daemon serves at most {limit} "
                                  f"at once (--max-connections); try again later"}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class Refused(asyncio.Protocol):
    """A connection over the limit: told so in one 503 and closed.

    The 503 goes once the client has sent something (its request), or after a short
    grace: a client that had not written yet when we closed would get EPIPE on its
    write (the docker CLI then reports "broken pipe", not the refusal). After the
    answer we only read and drop until the client closes, so no unread data turns the
    close into a reset that would discard the answer. Few are held at once: under a
    flood the rest are closed at once."""

    def __init__(self, limit: int, gate: "ConnectionGate | None" = None) -> None:
        self._limit = limit
        self._gate = gate
        self._transport: asyncio.WriteTransport | None = None
        self._answered = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        if self._gate is None:   # too many being refused already: no grace
            transport.write(_refusal(self._limit))
            transport.close()
            return
        self._timer = asyncio.get_running_loop().call_later(REFUSAL_GRACE, self._expired)

    def data_received(self, data: bytes) -> None:
        self._answer()

    def eof_received(self) -> bool:
        self._answer()
        return False   # close our side too

    def _answer(self) -> None:
        if self._answered or self._transport is None or self._transport.is_closing():
            return
        self._answered = True
        self._transport.write(_refusal(self._limit))
        if self._transport.can_write_eof():
            self._transport.write_eof()   # the client reads the 503, then EOF, and closes
        else:   # TLS: no half-close
            self._transport.close()

    def _expired(self) -> None:
        self._timer = None
        self._answer()
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._gate is not None:
            self._gate.refusing -= 1
            self._gate = None
        self._transport = None


REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   b"Connection: close\r\nContent-Length: 48\r\n\r\n"
                   b"the request head did not arrive in time: closing")


class BodyTimeout(web.RequestPayloadError):
    """The client stopped sending a body it announced: the request ends with a 408."""
    status = 408


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with a deadline for each request's head, and no
    HTTP/0.9 (aiohttp would answer it with an `HTTP/0.9 200` status line)."""

    __slots__ = ("_gate", "_header_timeout", "_header_timer", "_partial_head", "_body_timeout",
                 "_body_timer")

    def __init__(self, manager: Server, gate: "ConnectionGate", **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gate: ConnectionGate | None = gate
        self._header_timeout = gate.limits.header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial_head = False
        self._body_timeout = gate.limits.body_timeout
        self._body_timer: asyncio.TimerHandle | None = None

    def _unfinished_body(self) -> Any:
        """The body still being received: of the request in hand or of one parsed and queued."""
        payloads = [payload for _, payload in self._messages]
        if self._current_request is not None:
            payloads.insert(0, self._current_request.content)
        return next((p for p in payloads if not p.is_eof()), None)

    def _rearm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if self._body_timeout > 0 and not self._upgraded and self._unfinished_body() is not None:
            self._body_timer = self._loop.call_later(self._body_timeout, self._body_expired)

    def _body_expired(self) -> None:
        self._body_timer = None
        payload = self._unfinished_body()
        if payload is not None and self.transport is not None:
            log.debug("a client sent no more of a request body for %.0f s", self._body_timeout)
            payload.set_exception(BodyTimeout(
                f"the request body stopped arriving (nothing for {self._body_timeout:.0f} s)"))
            self.close()   # after this request's answer

    def _waiting_for_head(self) -> bool:
        # No request being handled and none parsed yet: whatever came is an unfinished head.
        return self._current_request is None and not self._messages

    def _arm_header_timer(self) -> None:
        if self._header_timeout > 0 and self._header_timer is None:
            self._header_timer = self._loop.call_later(self._header_timeout, self._header_expired)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_expired(self) -> None:
        self._header_timer = None
        if self.transport is not None and self._waiting_for_head():
            log.debug("closing a connection that sent no complete request head in %.0f s",
                      self._header_timeout)
            if self._partial_head:   # a client that started a request hears why it ends
                self.transport.write(REQUEST_TIMEOUT)
            self.force_close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()   # Go's ReadHeaderTimeout runs from accept

    def data_received(self, data: bytes) -> None:
        if data and self._waiting_for_head():
            self._arm_header_timer()
            self._partial_head = True
        super().data_received(data)
        if not self._waiting_for_head():
            self._disarm_header_timer()
            self._partial_head = False
        self._rearm_body_timer()
        for index, (message, payload) in enumerate(self._messages):
            if not isinstance(message, _ErrInfo) and message.version < HttpVersion10:
                refusal = BadHttpMessage(f"HTTP/{message.version[0]}.{message.version[1]} is not "
                                         "supported: send HTTP/1.0 or HTTP/1.1")
                self._messages[index] = (_ErrInfo(status=400, exc=refusal, message=refusal.message),
                                         payload)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._gate is not None:
            self._gate.closed()
            self._gate = None
        self._disarm_header_timer()
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().connection_lost(exc)

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        """aiohttp's "Error handling request" (a malformed request, a broken connection):
        one line per kind and interval, not a traceback per request."""
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            ERRORS.log(("bad request", type(exc).__name__), logging.INFO,
                       "refused a malformed request: %s", exc.message or type(exc).__name__)
            return
        ERRORS.log(("connection", type(exc).__name__), logging.WARNING,
                   "error on a connection: %s: %s", type(exc).__name__, exc)


class ConnectionGate:
    """Makes each accepted connection's protocol: a GuardedHandler, or Refused beyond the
    limit. One gate serves every listener, so the limit is the daemon's. Connections are
    counted from the moment their protocol is made (asyncio calls connection_made later,
    after accepting a whole backlog), until they are lost."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.limit = limits.connection_limit()
        self.open = 0
        self.refusing = 0   # refused connections still being answered (Refused's grace)
        self.max_refusing = refusal_budget()

    def protocol(self, server: Server) -> asyncio.BaseProtocol:
        if self.open >= self.limit:
            ERRORS.log("connection limit", logging.WARNING,
                       "refusing connections: %d open, the limit (--max-connections)", self.limit)
            if self.refusing >= self.max_refusing:
                return Refused(self.limit)
            self.refusing += 1
            return Refused(self.limit, self)
        self.open += 1
        # The handler's options are the runner's (access log, keep-alive = idle timeout).
        return GuardedHandler(server, self, loop=asyncio.get_running_loop(), **server._kwargs)

    def closed(self) -> None:
        self.open -= 1


class GuardedSite(web.SockSite):
    """A SockSite whose connections come from the gate. `serving`: the listener is served
    already (early.py's server, whose connections main.py hands to this site's protocol)."""

    def __init__(self, runner: web.BaseRunner, sock: Any, gate: ConnectionGate,
                 serving: asyncio.Server | None = None, **kwargs: Any) -> None:
        super().__init__(runner, sock, **kwargs)
        self._gate = gate
        self._serving = serving

    def protocol(self) -> asyncio.BaseProtocol:
        """A new connection's protocol."""
        assert self._runner.server is not None
        return self._gate.protocol(self._runner.server)

    async def start(self) -> None:
        await web.BaseSite.start(self)   # registers the site with the runner
        if self._serving is not None:
            self._server = self._serving   # the runner's cleanup closes it
            return
        loop = asyncio.get_running_loop()
        handshake = self._gate.limits.handshake_timeout() if self._ssl_context is not None else None
        self._server = await loop.create_server(self.protocol, sock=self._sock, ssl=self._ssl_context,
                                                backlog=self._backlog, ssl_handshake_timeout=handshake)
