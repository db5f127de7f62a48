"""`wait`: block until a container reaches a condition, then say its exit code.

The conditions of API 1.30: `not-running` (now, if it is not running, else when it
stops), `next-exit` (its next `die`, also when it is stopped now) and `removed` (its
`destroy`). The job subscribes to the event bus before it returns, so an exit that
comes after the server answered the headers cannot be missed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import BadRequest
from ..jobs import Job
from .args import ContainerWait
from ..api.records import ExitStatus
from .container import Container
from .events import EventBus, Listener

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


class Waiter:
    """One wait's registration; `close` it when the client is gone."""

    def __init__(self, daemon: Daemon, container: Container, condition: str) -> None:
        self._daemon = daemon
        self._container = container
        self._condition = condition
        self._bus: EventBus = daemon.events
        self._listener: Listener | None = None
        if condition != "not-running":
            self._listener = self._bus.subscribe()

    async def status(self) -> ExitStatus:
        container = self._container
        if self._condition == "not-running":
            await container.stopped.wait()
            if container.monitor is not None:
                await asyncio.shield(container.monitor)
            return ExitStatus(container.record.state.exit_code)
        # next-exit ends at the container's die (or its removal: it cannot exit any more);
        # removed at its destroy.
        actions = ("die", "destroy") if self._condition == "next-exit" else ("destroy",)
        while True:
            assert self._listener is not None
            item = await self._listener.get()
            if item is None:
                # Dropped for falling behind: what it missed may be the event waited for.
                self._bus.unsubscribe(self._listener)
                self._listener = self._bus.subscribe()
                if container.id not in self._daemon.containers:
                    return ExitStatus(container.record.state.exit_code)
                continue
            event = item.event
            if event.type != "container" or event.id != container.id or event.action not in actions:
                continue
            code = event.actor.attributes.get("exitCode")
            return ExitStatus(int(code) if code and code.lstrip("-").isdigit()
                              else container.record.state.exit_code)

    def close(self) -> None:
        if self._listener is not None:
            self._bus.unsubscribe(self._listener)
            self._listener = None


async def container_wait(daemon: Daemon, job: Job[ContainerWait]) -> Waiter:
    args = job.args
    if args.condition not in WAIT_CONDITIONS:
        raise BadRequest(f'invalid condition: "{args.condition}"')
    return Waiter(daemon, daemon.lookup(args.name), args.condition)
