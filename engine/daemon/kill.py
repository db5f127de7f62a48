"""`kill`: a signal to a running container's first process."""

from __future__ import annotations

import signal as signals
from typing import TYPE_CHECKING

from ..errors import Conflict
from ..jobs import Job
from .args import ContainerKill
from .signals import deliver, parse_signal

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_kill(daemon: Daemon, job: Job[ContainerKill]) -> None:
    args = job.args
    container = daemon.lookup(args.name)
    number = parse_signal(args.signal or "KILL")
    if not container.running:
        raise Conflict(f"Container {args.name} is not running")
    if number in (signals.SIGKILL, signals.SIGTERM, signals.SIGINT):
        container.stop_requested = True
    await deliver(daemon, container, number)
    daemon.container_event(container, "kill", signal=str(number))
    if number == signals.SIGKILL:  # as Docker: return once it is gone
        await container.stopped.wait()
