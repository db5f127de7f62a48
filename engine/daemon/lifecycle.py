"""A daemon's life around its jobs: opening it and bringing back its containers,
and stopping them before it closes. Here rather than in daemon.py, so that
daemon.py (the state every job shares) imports no job's module.

Live restore (on by default, `--live-restore=false` for Docker 1.2's behaviour):
containers outlive pyctrd. A crash or SIGKILL leaves them running (the keeper of
the exec driver is their parent and holds their stdio); a clean SIGTERM/SIGINT
shutdown leaves them running too, as Docker's `--live-restore` does, and keeps
their mounts, veths and iptables rules; only the userland proxies stop with the
daemon. The next daemon adopts them (`adopt_live_containers`): same pid, state,
exit code (also of one that exited meanwhile), logs, network. Without live
restore a SIGTERM stops every container and a restart kills what is left."""

from __future__ import annotations

import asyncio
import logging
import os

from ..api.codec import from_api
from ..errors import ServerError
from ..execdriver.driver import ExecError
from . import autoremove, health, hostopts, monitor, start, stop, volumes
from .sweep import sweep
from .config import DaemonConfig
from .container import Container
from .daemon import Daemon
from .network import start_order, stopped_settings
from .container_record import ZERO_TIME, ContainerRecord
from .signals import KILL_WAIT
from ..tracing import span

log = logging.getLogger("pyctr.daemon")


async def open_daemon(config: DaemonConfig, lock_fd: int | None = None) -> Daemon:
    daemon = await Daemon.open(config, lock_fd)
    daemon.remove_when_exited = autoremove.schedule
    # Before the containers are restored: what a dead daemon left half-made (sweep.py).
    daemon.sweep_report = await sweep(daemon)
    daemon.check_space()
    await restore_containers(daemon)
    return daemon


async def restore_containers(daemon: Daemon) -> None:
    """Load containers; those a dead daemon left running are adopted (live restore), or
    killed and shown exited. Containers whose restart policy covers that are started."""
    for data in daemon.graph.db.container_records():
        record = from_api(ContainerRecord, data)
        container = Container(record, daemon.config.path("containers", record.id))
        daemon.containers[record.id] = container
        volumes.restore(daemon, container)
    adopted = await adopt_live_containers(daemon)
    # Volumes mounted for no running container (a crash), volumes half-made: undone.
    await asyncio.to_thread(daemon.volumes.sweep)
    to_restart, to_remove = [], []
    for container in daemon.containers.values():
        record = container.record
        if container.id in adopted:
            continue
        if not (record.state.running or record.state.restarting or container.id in daemon.live):
            if monitor.restarts_with_daemon(container):   # stopped by a daemon's shutdown, say
                to_restart.append(container)
            elif record.host_config.auto_remove and record.state.finished_at != ZERO_TIME:
                to_remove.append(container)   # exited as the last daemon went, before its removal
            continue
        log.info("container %s was running when pyctrd stopped: marking it exited", record.id[:12])
        await discard_live_container(daemon, container.id)
        await asyncio.to_thread(hostopts.unmount_shm, container)   # --ipc shareable's, on the host
        if record.state.running or record.state.restarting:
            monitor.mark_stopped(record, exit_code=137, error="pyctrd restarted")
            record.network_settings = stopped_settings(record.network_settings)
            daemon.save(container)
            if monitor.should_restart(container, 137):
                to_restart.append(container)
            elif record.host_config.auto_remove:
                to_remove.append(container)
    for orphan in daemon.live - set(daemon.containers):   # started, then its row was never kept
        log.info("exec state of %s has no container: killing it", orphan[:12])
        await discard_live_container(daemon, orphan)
    await daemon.network.drop_unadopted()
    for container in to_remove:
        autoremove.schedule(daemon, container)
    for container in start_order(daemon, to_restart):   # linked-to containers first
        try:
            await start.start(daemon, container)
        except Exception as exc:  # one bad container must not stop the daemon
            log.error("restarting %s failed: %s", container.id[:12], exc)


async def adopt_live_containers(daemon: Daemon) -> set[str]:
    """The start-up step that takes back the containers an earlier pyctrd left running
    (with --live-restore): ids adopted. Runs before anything sweeps leftovers (cgroups,
    mounts, veths, rules of those ids are theirs)."""
    adopted: set[str] = set()
    if not (daemon.config.live_restore and daemon.execdriver.live_restore):
        return adopted
    candidates = [c for c in daemon.containers.values() if c.id in daemon.live and c.record.state.running]
    # Containers whose network others join first (container:X needs X's pid).
    candidates.sort(key=lambda c: (c.record.host_config.network_mode or "").startswith("container:"))
    for container in candidates:
        try:
            restored = await daemon.execdriver.restore(container.id)
        except ExecError as exc:
            log.error("restoring %s: %s", container.id[:12], exc)
            continue
        if restored is None:
            continue
        if restored.pid != container.record.state.pid:
            log.warning("container %s: the record says pid %d, the exec driver %d", container.id[:12],
                        container.record.state.pid, restored.pid)
            container.record.state.pid = restored.pid
        await asyncio.to_thread(daemon.graph.driver.get, container.id)   # mounted still: a reference
        await asyncio.to_thread(volumes.adopt, daemon, container)         # so are its volumes
        sockets = {k: restored.fds.pop(k) for k in [k for k in restored.fds if k.startswith("port:")]}
        if restored.exited is None:
            try:
                await daemon.network.adopt(daemon, container, sockets)
            except ServerError as exc:   # it runs on, without what could not be restored
                log.error("%s", exc)
        else:
            for fd in sockets.values():
                os.close(fd)
        monitor.adopt(daemon, container, restored, start.start)
        adopted.add(container.id)
        state = "exited with %d while pyctrd was away" % restored.exited.exit_code if restored.exited else "running"
        log.info("adopted container %s (pid %d, %s)", container.id[:12], restored.pid, state)
    return adopted


async def discard_live_container(daemon: Daemon, container_id: str) -> None:
    """A container an earlier daemon left that is not adopted: kill it, wait for its exit
    and let the exec driver forget it."""
    restored = None
    if container_id in daemon.live:
        try:
            restored = await daemon.execdriver.restore(container_id)
        except ExecError as exc:
            log.error("container %s: %s", container_id[:12], exc)
    await asyncio.to_thread(daemon.execdriver.terminate, container_id)
    if restored is not None:
        for fd in restored.fds.values():
            os.close(fd)
        if restored.exited is None:
            try:   # bounded: the opening, which every request waits for, must not wedge
                await asyncio.wait_for(daemon.execdriver.resume(container_id), KILL_WAIT)
            except ExecError as exc:
                log.error("container %s: %s", container_id[:12], exc)
            except asyncio.TimeoutError:
                log.error("container %s: no exit seen %gs after SIGKILL: something keeps its init "
                          "from exiting", container_id[:12], KILL_WAIT)
        await asyncio.to_thread(daemon.graph.driver.put, container_id)   # its mount was kept
    try:
        await daemon.execdriver.forget(container_id)
    except ExecError as exc:
        log.error("container %s: %s", container_id[:12], exc)


async def close_daemon(daemon: Daemon, timeout: float = 10) -> None:
    """Stop the running containers (SIGTERM, then SIGKILL after `timeout`), then the
    daemon; with live restore they keep running and the daemon only lets go of them."""
    running = [c for c in daemon.containers.values() if c.running]
    if daemon.config.live_restore and daemon.execdriver.live_restore and running:
        log.info("live restore: leaving %d running containers to the next pyctrd", len(running))
        daemon.detaching = True
        daemon.execdriver.detach()
        monitors = [c.monitor for c in daemon.containers.values() if c.monitor is not None]
        for task in monitors:
            task.cancel()
        await asyncio.gather(*monitors, return_exceptions=True)
        probes = [p for c in daemon.containers.values() for p in health.stop(c)]
        # The next daemon's probes take over; these end first (so settle() sees their execs).
        await asyncio.gather(*probes, return_exceptions=True)
        for container in daemon.containers.values():
            if container.restart_task is not None:
                container.restart_task.cancel()
            if container.io is not None and container.running:
                container.io.detach()   # before the log closes: no byte read and dropped
                monitor.close_log(container, leave=True)
            else:
                monitor.close_log(container)
        await daemon.shutdown(leave_running=True)
        return
    # Each container's StopSignal, and its StopTimeout when it has one; not a user's stop
    # (`unless-stopped` containers come back with the next daemon).
    with span("shutdown: stop containers", count=len(running)):
        await asyncio.gather(*(stop.stop(daemon, c, timeout if c.record.config.stop_timeout is None else None,
                                         manual=False) for c in running), return_exceptions=True)
    await daemon.shutdown()
