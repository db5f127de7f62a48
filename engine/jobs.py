"""The Engine of the Docker 1.2 design: named jobs, each run by a registered handler.

Every API request becomes one Job: a name ("container_create"), typed
arguments (a dataclass), and optionally an output stream for progress or
logs. The engine keeps a short trace of finished jobs (name, duration,
status) for `GET /pyctr/jobs` and the TUI. It is a dict lookup and two clock
reads per job: it must stay that cheap.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from .errors import EngineError, InsufficientStorage, NotFound, is_disk_full

log = logging.getLogger("pyctr.jobs")


class Output(Protocol):
    """Where a streaming job writes (the HTTP response, or a buffer in tests)."""

    async def write(self, data: bytes) -> None: ...


@dataclass
class Job:
    name: str
    args: Any = None
    out: Output | None = None
    started: float = field(default_factory=time.time)

    async def write(self, data: bytes) -> None:
        if self.out is not None:
            await self.out.write(data)


@dataclass(frozen=True)
class JobTrace:
    name: str
    started: float
    duration: float
    status: str  # "ok" or the error message


Handler = Callable[[Job], Awaitable[Any]]


class Engine:
    def __init__(self, trace_size: int = 1000) -> None:
        self._handlers: dict[str, Handler] = {}
        self.traces: collections.deque[JobTrace] = collections.deque(maxlen=trace_size)

    def register(self, name: str, handler: Handler) -> None:
        if name in self._handlers:
            raise ValueError(f"job {name!r} is registered twice")
        self._handlers[name] = handler

    def handlers(self) -> list[str]:
        return sorted(self._handlers)

    async def run(self, name: str, args: Any = None, out: Output | None = None) -> Any:
        handler = self._handlers.get(name)
        if handler is None:
            raise NotFound(f"no such job: {name}")
        job = Job(name, args, out)
        t0 = time.perf_counter()
        status = "ok"
        try:
            return await handler(job)
        except EngineError as exc:
            status = exc.message
            raise
        except Exception as exc:
            if is_disk_full(exc):   # a clear 507 that names the operation, not a traceback
                status = f"{name}: no space left on device"
                log.error("job %s failed: %s", name, exc)
                raise InsufficientStorage(f"{name.replace('_', ' ')} failed: no space left on "
                                          f"device ({exc})") from exc
            status = f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed", name)
            raise
        finally:
            duration = time.perf_counter() - t0
            self.traces.append(JobTrace(name, job.started, duration, status))
            log.debug("job %s %.1f ms %s", name, duration * 1000, status)
