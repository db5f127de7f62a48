"""Restart policies (Docker 1.2): `no`, `on-failure[:max]`, `always`.

After an exit that the policy covers, the container waits a back-off that starts
at 100 ms and doubles with each restart, and goes back to 100 ms once a run has
lasted at least 10 s. A stop, kill or rm by the user never triggers a restart.
"""

from __future__ import annotations

import asyncio
import logging

from .container import Container

log = logging.getLogger("pyctr.daemon")

FIRST_BACKOFF = 0.1
RESET_AFTER = 10.0


def should_restart(container: Container, exit_code: int) -> bool:
    policy = container.record.host_config.restart_policy
    if container.stop_requested:
        return False
    if policy.name == "always":
        return True
    if policy.name == "on-failure" and exit_code != 0:
        limit = policy.maximum_retry_count
        return limit == 0 or container.record.restart_count < limit
    return False


def after_exit(daemon, container: Container, exit_code: int, ran_for: float) -> None:
    """Called by the monitor once a container has stopped and been recorded."""
    if not should_restart(container, exit_code):
        container.backoff = 0.0
        return
    container.backoff = FIRST_BACKOFF if ran_for >= RESET_AFTER or not container.backoff \
        else container.backoff * 2
    container.record.state.restarting = True
    daemon.save(container)
    container.restart_task = asyncio.create_task(_restart_later(daemon, container, container.backoff))


async def _restart_later(daemon, container: Container, delay: float) -> None:
    from . import start
    await asyncio.sleep(delay)
    container.restart_task = None
    if container.id not in daemon.containers or container.stop_requested:
        return
    container.record.restart_count += 1
    try:
        await start.start(daemon, container)
    except Exception as exc:
        log.error("restarting %s failed: %s", container.id[:12], exc)
        container.record.state.restarting = False
        container.record.state.error = str(exc)
        daemon.save(container)


def cancel(daemon, container: Container) -> bool:
    """Drop a pending restart (user stop/rm); True if there was one."""
    container.stop_requested = True
    task, container.restart_task = container.restart_task, None
    if task is None:
        return False
    task.cancel()
    container.record.state.restarting = False
    daemon.save(container)
    return True
