"""AutoRemove (HostConfig.AutoRemove, API 1.25): the daemon removes a container,
with its anonymous volumes, once it has exited for good (no restart due), as
`docker run --rm` asks of a daemon from 1.25 on.

The monitor calls `schedule` (as `daemon.remove_when_exited`, wired by lifecycle.py) at the
end of its exit path; the removal runs as its own task because `rm` waits for the monitor."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..errors import Conflict, NotFound
from ..jobs import Job
from .args import ContainerRemove
from .remove import container_remove

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon

log = logging.getLogger("pyctr.daemon")

# Removals under way: held so that they are not collected before they finish.
_pending: set[asyncio.Task] = set()


def schedule(daemon: Daemon, container: Container) -> None:
    task = asyncio.create_task(_remove(daemon, container.id))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _remove(daemon: Daemon, container_id: str) -> None:
    args = ContainerRemove(container_id, force=True, volumes=True)
    try:
        await container_remove(daemon, Job(ContainerRemove.job, args))
    except (NotFound, Conflict):
        pass   # removed (or being removed) by the user meanwhile
    except Exception:
        log.exception("removing %s (AutoRemove) failed", container_id[:12])
