"""A daemon's life around its jobs: opening it and bringing back its containers,
and stopping them before it closes. Here rather than in daemon.py, so that
daemon.py (the state every job shares) imports no job's module."""

from __future__ import annotations

import asyncio
import logging

from ..api.codec import from_api
from . import monitor, start, stop, volumes
from .config import DaemonConfig
from .container import Container
from .daemon import Daemon
from .network import start_order
from .records import ContainerRecord, NetworkSettings

log = logging.getLogger("pyctr.daemon")


async def open_daemon(config: DaemonConfig) -> Daemon:
    daemon = await Daemon.open(config)
    await restore_containers(daemon)
    return daemon


async def restore_containers(daemon: Daemon) -> None:
    """Load containers; those a dead daemon left running are killed and shown exited."""
    to_restart = []
    for data in daemon.graph.db.container_records():
        record = from_api(ContainerRecord, data)
        container = Container(record, daemon.config.path("containers", record.id))
        daemon.containers[record.id] = container
        volumes.restore(daemon, container)
        if record.state.running or record.state.restarting:
            log.info("container %s was running when pyctrd stopped: marking it exited", record.id[:12])
            await asyncio.to_thread(daemon.execdriver.terminate, record.id)
            monitor.mark_stopped(record, exit_code=137, error="pyctrd restarted")
            record.network_settings = NetworkSettings()
            daemon.save(container)
            if monitor.should_restart(container, 137):
                to_restart.append(container)
    for container in start_order(daemon, to_restart):   # linked-to containers first
        try:
            await start.start(daemon, container)
        except Exception as exc:  # one bad container must not stop the daemon
            log.error("restarting %s failed: %s", container.id[:12], exc)


async def close_daemon(daemon: Daemon, timeout: float = 10) -> None:
    """Stop the running containers (SIGTERM, then SIGKILL after `timeout`), then the daemon."""
    running = [c for c in daemon.containers.values() if c.running]
    await asyncio.gather(*(stop.stop(daemon, c, timeout) for c in running), return_exceptions=True)
    await daemon.shutdown()
