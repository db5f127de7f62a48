"""Signals for a container's first process: parsing a signal's name or number, and
delivering one (thawing a paused container so that it acts on it)."""

from __future__ import annotations

import asyncio
import signal as signals
from typing import TYPE_CHECKING

from ..errors import BadRequest
from ..execdriver.driver import ExecError
from .container import Container

if TYPE_CHECKING:
    from .daemon import Daemon


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


async def deliver(daemon: Daemon, container: Container, number: int) -> None:
    """Signal the container's first process. A paused one is thawed once the signal is
    queued, so it acts on it (as Docker does since 1.10; Docker 1.2 refused with
    "Unpause the container before stopping"); it is no longer paused afterwards."""
    daemon.execdriver.kill(container.id, number)
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


def _still_there(daemon: Daemon, container: Container) -> bool:
    """After a failed thaw: whether the container still has processes. One the signal ended
    is gone with its cgroup before the monitor has recorded the exit (`running` is still
    true then), so the record alone cannot say."""
    return container.running and bool(daemon.execdriver.pids(container.id))
