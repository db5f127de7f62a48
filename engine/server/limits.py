"""How long a client may stay silent, how many connections may be open at once, and
how repeated errors are logged: the connection guard's settings (connections.py has
the guard itself). No aiohttp here: main.py sets these up before aiohttp is imported."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..daemon.config import DaemonConfig

log = logging.getLogger("pyctr.server")

# The defaults are the daemon flags' (daemon/config.py): dockerd sets ReadHeaderTimeout to
# 5 minutes; Go's http.Server has no idle timeout by default, but its client (the docker
# CLI) drops idle connections after 90 s, so a server timeout above that (120 s) lets the
# client close first; a body may pause as long as a head may take (an upload may be slow).
DEFAULT_HEADER_TIMEOUT = DaemonConfig.header_timeout
DEFAULT_IDLE_TIMEOUT = DaemonConfig.idle_timeout
DEFAULT_BODY_TIMEOUT = DaemonConfig.body_timeout
LOG_INTERVAL = 10.0
REFUSAL_GRACE = 2.0   # seconds a refused connection may take to send its request and read the 503
MAX_REFUSING = 64     # refused connections held at once for that (fewer with few descriptors)


def _descriptor_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


def refusal_budget() -> int:
    """How many refused connections may wait for their 503 at once (each holds a descriptor)."""
    return min(MAX_REFUSING, max(4, _descriptor_limit() // 16))


def default_max_connections() -> int:
    """About three quarters of the descriptor limit: the rest is kept for the daemon's own
    files and for the connections being refused."""
    soft = _descriptor_limit()
    return max(8, soft - max(32, soft // 4) - refusal_budget())


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = DEFAULT_HEADER_TIMEOUT   # seconds to send a request's head
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT       # seconds idle between requests
    body_timeout: float = DEFAULT_BODY_TIMEOUT       # seconds of silence within a request's body
    max_connections: int = 0                         # 0: from RLIMIT_NOFILE

    def connection_limit(self) -> int:
        return self.max_connections or default_max_connections()

    def handshake_timeout(self) -> float | None:
        """A TLS client has the header timeout for its handshake too (asyncio's default is
        60 s, and the head's timer starts only once the handshake is done)."""
        return self.header_timeout if self.header_timeout > 0 else None


class RateLimitedLog:
    """Logs a message once per interval per key; the repeats in between are counted
    and reported with the next one that gets through."""

    def __init__(self, logger: logging.Logger, interval: float = LOG_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._last: dict[Any, float] = {}
        self._suppressed: dict[Any, int] = {}

    def log(self, key: Any, level: int, message: str, *args: Any, exc_info: Any = None) -> bool:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        repeats = self._suppressed.pop(key, 0)
        if repeats:
            message += f" (and {repeats} more like it in the last {now - last:.0f} s)"
        if len(self._last) > 1024:   # keys are few in practice; never let them grow without end
            self._last = {key: now}
        self._logger.log(level, message, *args, exc_info=exc_info)
        return True


ERRORS = RateLimitedLog(log)


def loop_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's own errors (accept() out of descriptors, ...) once per interval each."""
    exc = context.get("exception")
    key = ("loop", context.get("message"), type(exc).__name__, getattr(exc, "errno", None))
    # out of descriptors and the like need no traceback; anything else gets one (once)
    ERRORS.log(key, logging.ERROR, "%s: %s", context.get("message", "event loop error"),
               exc if exc is not None else "", exc_info=None if isinstance(exc, OSError) else exc)
