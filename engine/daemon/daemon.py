"""The Daemon: owns the graph, the drivers and the containers, and serves the jobs.

Job handlers live in one module per verb (create.py, start.py, ...); this module
holds what they share: lookup, persistence, events; lifecycle.py brings the
containers back at start-up and stops them at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sqlite3
import subprocess
import time
from typing import Callable

from ..api.codec import to_api
from ..errors import Conflict, NotFound, is_disk_full
from ..execdriver import ExecDriver, new_execdriver
from ..graph.graph import Graph
from ..graph.graphdb import GraphDB
from ..graphdriver import new_driver
from ..libcontainer.inroot_client import InRoot
from ..tracing import span
from ..volumedriver import new_volumedriver
from .config import DaemonConfig
from .container import Container
from .events import EventBus
from .network import DaemonNetwork
from .preflight import DaemonLocked, lock_pidfile  # noqa: F401  (DaemonLocked: raised by open)
from .space import SpaceReserve, free_bytes

log = logging.getLogger("pyctr.daemon")


class Daemon:
    def __init__(self, config: DaemonConfig, graph: Graph, execdriver: ExecDriver,
                 lock_fd: int) -> None:
        self.config = config
        self.graph = graph
        self.execdriver = execdriver
        self.events = EventBus(config.path("events"))  # journal under the data root
        self.containers: dict[str, Container] = {}
        self.execs: dict = {}               # exec id -> exec.ExecInstance
        self.started_at = time.time()
        self.instance_id = _instance_id(config.path("engine-id"))
        self._lock_fd = lock_fd
        self.network = DaemonNetwork(config)   # disabled until open() sets up the bridge
        # Live restore: ids of the containers an earlier daemon left running (kept
        # mounted and networked through open(); adopted or stopped by lifecycle.py).
        self.live: set[str] = set()
        self.detaching = False              # shutting down, leaving containers running
        self.volumes = new_volumedriver("local", config.path("volumes"))
        # AutoRemove's removal, which the monitor calls once a container has exited for good;
        # lifecycle.py wires it in (it needs remove.py, and remove.py needs the monitor).
        self.remove_when_exited: Callable[[Daemon, Container], None] | None = None
        # Record changes the data root had no room for: kept here and retried, so that a
        # full disk delays what is on disk but never what wait/stop/rm see.
        self._unsaved: dict[str, Container] = {}
        self._undeleted: set[str] = set()
        self._retry: asyncio.Task | None = None
        self.sweep_report = None
        self.reserve = SpaceReserve(config.path("graph", "space-reserve"))
        self.inroot = InRoot()   # every touch of a container's filesystem goes through it

    # --- life cycle -----------------------------------------------------
    @classmethod
    async def open(cls, config: DaemonConfig, lock_fd: int | None = None) -> "Daemon":
        """`lock_fd`: the data root's lock, when main.py took it already (preflight.py)."""
        for sub in ("", "containers", "volumes", "graph"):
            os.makedirs(config.path(sub), exist_ok=True)
        os.makedirs(config.exec_root, exist_ok=True)
        if lock_fd is None:
            lock_fd = lock_pidfile(config.pidfile_path)
        try:
            execdriver = new_execdriver(config.exec_driver, config.exec_root)
            await execdriver.open()
            # Containers still running keep their root filesystems mounted.
            live = execdriver.live()
            await asyncio.to_thread(_unmount_leftovers, config.data_root, live)
            driver = new_driver(config.storage_driver, config.path("graph", "layers"))
            reserve = SpaceReserve(config.path("graph", "space-reserve"))
            db = _open_db(config, reserve)
        except BaseException:
            os.close(lock_fd)
            raise
        daemon = cls(config, Graph(driver, db, config.path("graph", "journal")), execdriver, lock_fd)
        daemon.live = live
        try:   # before restoring containers: stale veths and rules of a daemon that died go first
            daemon.network = await DaemonNetwork.open(config)
            daemon.network.containers = daemon.containers
        except BaseException:
            db.close()
            os.close(lock_fd)
            raise
        return daemon

    def check_space(self) -> None:
        """Make the full-disk reserve, or say that the data root is full (at start-up, after
        the sweep has freed what a dead daemon left)."""
        if not self.reserve.ensure():
            log.warning("the data root %s is full (%d KiB free): pyctrd serves, but what needs to "
                        "write there (create, pull, load, build, commit, logs) fails with 'no space "
                        "left on device' until space is freed; container records are kept in memory "
                        "and written then", self.config.data_root, free_bytes(self.config.data_root) >> 10)

    async def shutdown(self, leave_running: bool = False) -> None:
        """Release what the daemon holds; its containers are stopped already (lifecycle.py),
        or (`leave_running`, live restore) stay running: then their mounts, veths and
        rules stay for the next daemon."""
        if self._retry is not None:
            self._retry.cancel()
        with span("shutdown: settle"):
            await self.execdriver.settle()
        if self.unwritten:
            self.flush_pending()
            if self.unwritten:
                log.error("shutting down with %d container records unwritten (data root full): "
                          "the next start shows their last written state", self.unwritten)
        if leave_running:
            await self.network.detach()
        else:
            with span("shutdown: network"):
                await self.network.shutdown()
            with span("shutdown: graph driver"):
                await asyncio.to_thread(self.graph.driver.cleanup)
            with span("shutdown: execdriver"):
                await self.execdriver.close()
        with span("shutdown: inroot"):
            await asyncio.to_thread(self.inroot.close)
        self.graph.db.close()
        self.events.close()
        try:
            os.unlink(self.config.pidfile_path)
        except FileNotFoundError:
            pass
        os.close(self._lock_fd)

    # --- containers -----------------------------------------------------
    def lookup(self, name: str) -> Container:
        """By full id, name (with or without "/"), or unique id prefix."""
        if name in self.containers:
            return self.containers[name]
        slashed = name if name.startswith("/") else "/" + name
        for container in self.containers.values():
            if container.name == slashed:
                return container
        if name:
            matches = [c for cid, c in self.containers.items() if cid.startswith(name)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise Conflict(f"ambiguous container id prefix {name!r}")
        raise NotFound(f"No such container: {name}")

    def container_event(self, container: Container, action: str, **attributes: str) -> None:
        self.events.publish(action, container.id, container.record.config.image,
                            labels=container.record.config.labels,
                            name=container.name.lstrip("/"), **attributes)

    def save(self, container: Container, strict: bool = False) -> None:
        """Write the container's record; on a full data root keep it to retry (the
        in-memory state, which every API call reads, is already current). `strict`
        (a new container): raise instead, the caller undoes what it made."""
        try:
            try:
                self._write(container)
            except Exception as exc:
                if not (is_disk_full(exc) and self.reserve.release()):
                    raise
                self._retry_later()      # which makes the reserve again once there is room
                self._write(container)   # the reserve's room is for exactly this
        except Exception as exc:
            if strict or not is_disk_full(exc):
                raise
            if container.id not in self._unsaved:
                log.error("container %s: cannot write its record (%s); kept in memory, "
                          "retried until there is room", container.id[:12], exc)
            self._unsaved[container.id] = container
            self._retry_later()
        else:
            self._unsaved.pop(container.id, None)

    def forget(self, container_id: str) -> None:
        """Delete the container's row and link edges, or (data root full) retry later."""
        self._unsaved.pop(container_id, None)
        try:
            self.graph.db.delete_container(container_id)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            log.error("container %s: cannot delete its record (%s); retried until there is room",
                      container_id[:12], exc)
            self._undeleted.add(container_id)
            self._retry_later()

    @property
    def unwritten(self) -> int:
        """How many record changes wait for room on the data root."""
        return len(self._unsaved) + len(self._undeleted)

    def _write(self, container: Container) -> None:
        record = container.record
        with span("db save_container", id=record.id[:12]):
            self.graph.db.save_container(record.id, record.name, record.image, record.created,
                                         to_api(record))

    def _retry_later(self) -> None:
        if self._retry is None or self._retry.done():
            try:
                self._retry = asyncio.get_running_loop().create_task(self._retry_pending())
            except RuntimeError:   # no loop (a test calling save directly): nothing to retry on
                pass

    async def _retry_pending(self, interval: float = 1.0) -> None:
        while self._unsaved or self._undeleted:
            await asyncio.sleep(interval)
            self.flush_pending()
        while not self.reserve.ensure():   # room again for the next full disk
            await asyncio.sleep(interval * 5)

    def flush_pending(self) -> None:
        """Try the record changes kept in memory now (space may just have been freed)."""
        for container_id in list(self._undeleted):
            try:
                self.graph.db.delete_container(container_id)
            except Exception as exc:
                if is_disk_full(exc):
                    return   # still full: the rest would fail the same way
                log.error("deleting the record of %s: %s", container_id[:12], exc)
            self._undeleted.discard(container_id)
        for container_id, container in list(self._unsaved.items()):
            try:
                self._write(container)
            except Exception as exc:
                if is_disk_full(exc):
                    return
                log.error("writing the record of %s: %s", container_id[:12], exc)
            self._unsaved.pop(container_id, None)
        log.info("every container record kept in memory is written now")


class DataRootFull(Exception):
    """The data root has no room even for opening the graph DB."""


def _open_db(config: DaemonConfig, reserve: SpaceReserve) -> GraphDB:
    """The graph DB; on a full data root, with the reserve's room (see space.py)."""
    path = config.path("graph", "graph.db")
    try:
        return GraphDB(path)
    except sqlite3.Error as exc:
        # A WAL file that cannot be made shows as "disk I/O error", not SQLITE_FULL.
        if not (is_disk_full(exc) or free_bytes(config.data_root) < 1 << 20):
            raise
        if not reserve.release():
            raise DataRootFull(
                f"the data root {config.data_root} is full ({free_bytes(config.data_root) >> 10} KiB "
                f"free) and the graph DB cannot be opened ({exc}): free some space") from None
    return GraphDB(path)


def _instance_id(path: str) -> str:
    """A stable id for this data root (`info` shows it)."""
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        value = secrets.token_hex(16)
        with open(path, "w") as f:
            f.write(value + "\n")
        return value


def _unmount_leftovers(data_root: str, live: set[str] = frozenset()) -> None:
    """Unmount what a daemon that died left mounted under the data root (deepest first),
    except the mounts of containers still running (`live` ids), and the volumes' (their
    driver knows which a running container still has: its sweep takes down the others)."""
    root = os.path.realpath(data_root) + "/"
    volumes = os.path.join(root, "volumes") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    points = [p for p in points if p.startswith(root) and not p.startswith(volumes)
              and not any(f"/{cid}/" in p + "/" for cid in live)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
