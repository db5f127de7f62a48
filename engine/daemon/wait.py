"""`wait`: block until a container stops (`condition=not-running`, the default),
exits next (`next-exit`: also a container not started yet, as `docker run` waits
before it starts it), or is removed (`removed`: `run --rm`), then say its exit code."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import BadRequest
from ..jobs import Job
from .args import ContainerWait
from .results import ExitStatus, ExitWait

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon

CONDITIONS = ("not-running", "next-exit", "removed")


async def container_wait(daemon: Daemon, job: Job[ContainerWait]) -> ExitWait:
    """Checks the request and begins waiting at once (so a `next-exit` sees an exit that
    comes right after); the server sends its headers then, as dockerd does, since
    today's CLI starts the container only once they are in."""
    args = job.args
    if args.condition not in CONDITIONS:
        raise BadRequest(f"invalid condition: {args.condition!r} (use {', '.join(CONDITIONS)})")
    container = daemon.lookup(args.name)
    waiter = container.next_exit() if args.condition == "next-exit" else None
    return ExitWait(_wait(container, args.condition, waiter))


async def _wait(container: Container, condition: str, next_exit) -> ExitStatus:
    if condition == "removed":
        await container.removed.wait()
    elif next_exit is not None:
        await next_exit
    else:
        await container.stopped.wait()
    if container.monitor is not None:
        await asyncio.shield(container.monitor)
    return ExitStatus(container.record.state.exit_code)
