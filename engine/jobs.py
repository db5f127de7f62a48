"""The Engine of the Docker 1.2 design: jobs, each run by a registered handler.

Every API request becomes one Job: typed arguments (a dataclass deriving from
`JobArgs[R]`, which names the job, "container_create", and the record R it
returns), and optionally an output stream for progress or logs. The engine
dispatches on the args' type, so `engine.run(ContainerCreate(...))` is typed
end to end; the registry of handlers is daemon/handlers.py. The engine keeps a
short trace of finished jobs (name, duration, status) for `GET /pyctr/jobs`
and the TUI. It is a dict lookup and two clock reads per job: it must stay
that cheap.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, ClassVar, Generic, Protocol, TypeVar

from .errors import EngineError, InsufficientStorage, NotFound, is_disk_full
from .tracing import span

log = logging.getLogger("pyctr.jobs")


class Output(Protocol):
    """Where a streaming job writes (the HTTP response, or a buffer in tests)."""

    async def write(self, data: bytes) -> None: ...


R = TypeVar("R")
A = TypeVar("A", bound="JobArgs")


class JobArgs(Generic[R]):
    """The base of every job's args: the class names its job (the name the trace
    shows) and, as R, the record its handler returns."""
    job: ClassVar[str]


@dataclass
class Job(Generic[A]):
    name: str
    args: A
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


Handler = Callable[[Job[Any]], Awaitable[Any]]


class Engine:
    def __init__(self, trace_size: int = 1000) -> None:
        self._handlers: dict[type[JobArgs], Handler] = {}
        self.traces: collections.deque[JobTrace] = collections.deque(maxlen=trace_size)
        # While the daemon opens behind an already answering socket (main.py): jobs wait
        # for it here, and then find their handlers registered.
        self._opening: asyncio.Future | None = None

    def opening(self, done: asyncio.Future) -> None:
        """Jobs wait for `done` (the daemon's opening, which registers the handlers)."""
        self._opening = done
        done.add_done_callback(self._opened)

    def _opened(self, done: asyncio.Future) -> None:
        if not done.cancelled() and done.exception() is None:
            self._opening = None

    def register(self, args_type: type[JobArgs[R]], handler: Callable[[Job[Any]], Awaitable[R]]) -> None:
        if args_type in self._handlers or args_type.job in self.handlers():
            raise ValueError(f"job {args_type.job!r} is registered twice")
        self._handlers[args_type] = handler

    def handlers(self) -> list[str]:
        return sorted(args_type.job for args_type in self._handlers)

    async def run(self, args: JobArgs[R], out: Output | None = None) -> R:
        name = type(args).job
        if self._opening is not None:
            await asyncio.shield(self._opening)
        handler = self._handlers.get(type(args))
        if handler is None:
            raise NotFound(f"no such job: {name}")
        job = Job(name, args, out)
        t0 = time.perf_counter()
        status = "ok"
        try:
            with span("job", job=name):
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
