"""A running container held frozen while the daemon walks its layer on the host (diff,
commit, `ps -s`, export): a process inside cannot swap a directory for a symlink to `/`
between the walker's lstat and its listdir."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import TYPE_CHECKING, AsyncIterator

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
        except Exception:
            if container.running:
                raise
            yield   # it stopped meanwhile: nothing left in it to race the walk
            return
    _freezes[container] = _freezes.get(container, 0) + 1
    try:
        yield
    finally:
        _freezes[container] -= 1
        if _freezes[container] == 0:
            del _freezes[container]
            if container.running and not container.record.state.paused:
                await asyncio.to_thread(daemon.execdriver.unpause, container.id)
