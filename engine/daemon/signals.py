"""Signals for a container's first process: parsing a signal's name or number, and
delivering one (thawing a paused container so that it acts on it)."""

from __future__ import annotations

import asyncio
import signal as signals
from typing import TYPE_CHECKING

from ..errors import BadRequest, Conflict, ServerError
from ..execdriver.driver import ExecError
from .container import Container

if TYPE_CHECKING:
    from .daemon import Daemon


# How long a SIGKILLed container may take to be seen gone (Docker waits as long): past it
# something keeps its init from exiting, and the client gets an error, not a hang.
KILL_WAIT = 10.0


def parse_signal(value: str | int) -> int:
    """"KILL", "SIGKILL", "kill" or "9" -> 9; anything else is a 400."""
    text = str(value).strip().upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < signals.NSIG:
            return number
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        if hasattr(signals.Signals, name):
            return int(signals.Signals[name])
    raise BadRequest(f"Invalid signal: {value}")


class ProcessGone(Conflict):
    """The first process exited between the check that it runs and the signal (its exit
    is still being recorded): a 409, as for a container that is not running."""


async def deliver(daemon: Daemon, container: Container, number: int) -> None:
    """Signal the container's first process. A paused one is thawed once the signal is
    queued, so it acts on it (as Docker does since 1.10; Docker 1.2 refused with
    "Unpause the container before stopping"); it is no longer paused afterwards."""
    try:
        daemon.execdriver.kill(container.id, number)
    except ExecError:
        raise ProcessGone(f"Container {container.id[:12]} is not running") from None
    if container.record.state.paused:
        try:
            await asyncio.to_thread(daemon.execdriver.unpause, container.id)
        except ExecError:
            if _still_there(daemon, container):
                raise
        container.record.state.paused = False
        daemon.save(container)


def deliver_blocking(daemon: Daemon, container: Container, number: int) -> None:
    """The same, blocking (for `rm -f`, which kills and waits anyway)."""
    daemon.execdriver.kill(container.id, number)
    if container.record.state.paused:
        try:
            daemon.execdriver.unpause(container.id)
        except ExecError:
            if _still_there(daemon, container):
                raise
        container.record.state.paused = False
        daemon.save(container)


async def wait_killed(container: Container) -> None:
    """After a SIGKILL: until the container's exit is recorded, at most KILL_WAIT."""
    try:
        await asyncio.wait_for(container.stopped.wait(), KILL_WAIT)
    except asyncio.TimeoutError:
        raise ServerError(f"container {container.id[:12]}: tried to kill container, "
                          "but did not receive an exit event") from None


def _still_there(daemon: Daemon, container: Container) -> bool:
    """After a failed thaw: whether the container still has processes. One the signal ended
    is gone with its cgroup before the monitor has recorded the exit (`running` is still
    true then), so the record alone cannot say."""
    return container.running and bool(daemon.execdriver.pids(container.id))
