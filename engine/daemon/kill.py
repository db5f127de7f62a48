"""`kill`: a signal to a running container's first process."""

from __future__ import annotations

import signal as signals
from typing import TYPE_CHECKING

from ..errors import Conflict
from ..jobs import Job
from .args import ContainerKill
from .signals import deliver, parse_signal, wait_killed

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
    container.record.has_been_manually_stopped = True   # as Docker: any kill by the user
    daemon.save(container)
    await deliver(daemon, container, number)
    daemon.container_event(container, "kill", signal=str(number))
    if number == signals.SIGKILL:  # as Docker: return once it is gone
        await wait_killed(container)
