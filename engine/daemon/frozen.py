"""A running container held frozen while the daemon walks its layer on the host (diff,
commit, `ps -s`, export): a process inside cannot swap a directory for a symlink to `/`
between the walker's lstat and its listdir."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, AsyncIterator

from ..errors import Conflict
from ..execdriver.driver import ExecError

if TYPE_CHECKING:
    from .daemon import Daemon

_freezes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # container -> readers


@contextlib.asynccontextmanager
async def frozen_for_reading(daemon: Daemon, container) -> AsyncIterator[None]:
    """Keep a running container frozen (its cgroup's freezer) while its layer is walked
    on the host: a process that swaps a directory for a symlink to `/` between the
    walker's lstat and its listdir would lead the walk into the host's files. Nested
    and concurrent readers share one freeze; a container paused by its user stays so."""
    if _freezes.get(container, 0) == 0:
        if not container.running or container.record.state.paused:
            yield
            return
        try:
            await asyncio.to_thread(daemon.execdriver.pause, container.id)
        except ExecError:
            # Exiting: its process is gone (the exec driver knows) before the monitor has
            # recorded the exit. Nothing is left in it to race the walk; let the exit land.
            try:
                await asyncio.wait_for(container.stopped.wait(), 10)
            except asyncio.TimeoutError:
                raise Conflict(f"container {container.id[:12]} could not be frozen for reading "
                               "and did not stop either") from None
            yield
            return
    _freezes[container] = _freezes.get(container, 0) + 1
    try:
        yield
    finally:
        _freezes[container] -= 1
        if _freezes[container] == 0:
            del _freezes[container]
            if container.running and not container.record.state.paused:
                try:
                    await asyncio.to_thread(daemon.execdriver.unpause, container.id)
                except ExecError:
                    if container.running and daemon.execdriver.pids(container.id):
                        raise   # still there, and frozen: say so
                    # it ended during the walk: nothing to thaw
