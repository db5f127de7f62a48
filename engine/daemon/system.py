"""`version`, `info` and `events`."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from typing import TYPE_CHECKING, AsyncIterator

from ..api.codec import api
from ..api.messages import encode_event
from ..jobs import Job
from .args import EventsQuery, InfoQuery, VersionQuery
from .results import SystemInfo, VersionInfo

if TYPE_CHECKING:
    from .daemon import Daemon


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


async def version(daemon: Daemon, job: Job[VersionQuery]) -> VersionInfo:
    from .. import __version__
    from ..api.versions import CURRENT, MIN_VERSION
    return VersionInfo(version=__version__, api_version=str(CURRENT), min_api_version=str(MIN_VERSION),
                       go_version=f"python{platform.python_version()}", arch=_arch(),
                       kernel_version=platform.release())


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _mem_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


async def info(daemon: Daemon, job: Job[InfoQuery]) -> SystemInfo:
    from .. import __version__
    driver_status = [list(kv) for kv in daemon.graph.driver.status()]
    return SystemInfo(
        id=daemon.instance_id,
        containers=len(daemon.containers),
        images=len(daemon.graph.rows()),
        driver=daemon.graph.driver.name,
        driver_status=driver_status,
        execution_driver=daemon.execdriver.name,
        kernel_version=platform.release(),
        operating_system=_os_name(),
        ncpu=os.cpu_count() or 1,
        mem_total=_mem_total(),
        name=platform.node(),
        debug=daemon.config.log_level == "debug",
        n_fd=len(os.listdir("/proc/self/fd")),
        n_goroutines=len(asyncio.all_tasks()),
        n_events_listener=daemon.events.listeners,
        init_path=daemon.config.exec_root,
        ipv4_forwarding=_read("/proc/sys/net/ipv4/ip_forward") == "1",
        docker_root_dir=daemon.config.data_root,
        server_version=__version__,
    )


class EventStream:
    """One `GET /events` client: the past it asked for, then live events until
    `until`, each as the JSON line to send. The server closes it however the
    request ends (also before the first line: a generator's `finally` would not
    run then)."""

    def __init__(self, bus, args: EventsQuery) -> None:
        self._bus = bus
        self._args = args
        self._listener = bus.subscribe()
        # What the listener will get is after `seen`; the past is up to it: no gap, no repeat.
        self._seen = bus.last_nano

    async def lines(self) -> AsyncIterator[bytes]:
        args, wanted = self._args, self._args.filter.matches
        if args.since_ns:
            until = min(self._seen, args.until_ns or self._seen)
            for event in await self._bus.past(args.since_ns, until):
                if wanted(event):
                    yield encode_event(event)
        if args.until_ns and args.until_ns <= time.time_ns():
            return
        while True:
            timeout = None if not args.until_ns else max(0.0, (args.until_ns - time.time_ns()) / 1e9)
            try:
                item = await asyncio.wait_for(self._listener.get(), timeout)
            except asyncio.TimeoutError:
                return
            if item is None:
                return  # dropped: it fell too far behind
            if args.until_ns and item.event.time_nano > args.until_ns:
                return
            if wanted(item.event):
                yield item.line

    def close(self) -> None:
        self._bus.unsubscribe(self._listener)


async def events(daemon: Daemon, job: Job[EventsQuery]) -> EventStream:
    return EventStream(daemon.events, job.args)
