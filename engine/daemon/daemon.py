"""The Daemon: owns the graph, the drivers and the containers, and serves the jobs.

Job handlers live in one module per verb (create.py, start.py, ...); this module
holds what they share: lookup, persistence, events; lifecycle.py brings the
containers back at start-up and stops them at shutdown.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import subprocess
import time

from ..api.codec import to_api
from ..errors import Conflict, NotFound
from ..execdriver import ExecDriver, new_execdriver
from ..graph.graph import Graph
from ..graph.graphdb import GraphDB
from ..graphdriver import new_driver
from ..libcontainer.inroot_client import InRoot
from ..volumedriver import new_volumedriver
from .config import DaemonConfig
from .container import Container
from .events import EventBus
from .network import DaemonNetwork

log = logging.getLogger("pyctr.daemon")


class DaemonLocked(Exception):
    """Another pyctrd already uses this data root."""


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
        self.volumes = new_volumedriver("local", config.path("volumes"))
        self.inroot = InRoot()   # every touch of a container's filesystem goes through it

    # --- life cycle -----------------------------------------------------
    @classmethod
    async def open(cls, config: DaemonConfig) -> "Daemon":
        for sub in ("", "containers", "volumes", "graph"):
            os.makedirs(config.path(sub), exist_ok=True)
        os.makedirs(config.exec_root, exist_ok=True)
        lock_fd = _lock_pidfile(config.pidfile_path)
        try:
            await asyncio.to_thread(_unmount_leftovers, config.data_root)
            driver = new_driver(config.storage_driver, config.path("graph", "layers"))
            db = GraphDB(config.path("graph", "graph.db"))
            execdriver = new_execdriver(config.exec_driver, config.exec_root)
        except BaseException:
            os.close(lock_fd)
            raise
        daemon = cls(config, Graph(driver, db), execdriver, lock_fd)
        try:   # before restoring containers: stale veths and rules of a daemon that died go first
            daemon.network = await DaemonNetwork.open(config)
        except BaseException:
            db.close()
            os.close(lock_fd)
            raise
        return daemon

    async def shutdown(self) -> None:
        """Release what the daemon holds; its containers are stopped already (lifecycle.py)."""
        await self.network.shutdown()
        await asyncio.to_thread(self.inroot.close)
        await asyncio.to_thread(self.graph.driver.cleanup)
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
                            name=container.name.lstrip("/"), **attributes)

    def save(self, container: Container) -> None:
        record = container.record
        self.graph.db.save_container(record.id, record.name, record.image, record.created,
                                     to_api(record))


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


def _lock_pidfile(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.pread(fd, 32, 0).decode().strip() or "?"
        os.close(fd)
        raise DaemonLocked(
            f"pyctrd is already running with this data root (pid {other}, lock {path})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _unmount_leftovers(data_root: str) -> None:
    """Unmount what a daemon that died left mounted under the data root (deepest first)."""
    root = os.path.realpath(data_root) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(root)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
