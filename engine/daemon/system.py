"""`version`, `info` and `events`."""

from __future__ import annotations

import asyncio
import datetime
import os
import platform
import sys
import time
from typing import TYPE_CHECKING, AsyncIterator

from ..api.codec import api
from ..api.messages import encode_event
from ..jobs import Job
from .args import EventsQuery, InfoQuery, VersionQuery
from ..api.records import SystemInfo, VersionInfo

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


def _os_version() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("VERSION_ID="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""


def _security_options() -> list[str]:
    """What confines every container, in dockerd's `name=...` words: Docker's default
    seccomp profile (daemon/security.py); no AppArmor, SELinux, user or cgroup namespace."""
    options = ["name=seccomp,profile=builtin"]
    return options + ["name=rootless"] if os.geteuid() != 0 else options


async def info(daemon: Daemon, job: Job[InfoQuery]) -> SystemInfo:
    from .. import __version__
    from ..libcontainer import cgroups
    driver_status = [list(kv) for kv in daemon.graph.driver.status()]
    states = [c.record.state for c in daemon.containers.values()]
    paused = sum(1 for s in states if s.running and s.paused)
    running = sum(1 for s in states if s.running) - paused
    support = await asyncio.to_thread(cgroups.host_support)
    now = datetime.datetime.now(datetime.timezone.utc)
    insecure = ["127.0.0.0/8", *daemon.config.insecure_registries]
    return SystemInfo(
        id=daemon.instance_id,
        containers=len(states),
        containers_running=running,
        containers_paused=paused,
        containers_stopped=len(states) - running - paused,
        images=len(daemon.graph.rows()),
        driver=daemon.graph.driver.name,
        driver_status=driver_status,
        execution_driver=daemon.execdriver.name,
        kernel_version=platform.release(),
        operating_system=_os_name(),
        os_version=_os_version(),
        architecture=platform.machine(),
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
        memory_limit=support.memory,
        swap_limit=support.swap,
        cpu_shares=support.cpu_shares,
        cpu_set=support.cpuset,
        pids_limit=support.pids,
        system_time=now.isoformat().replace("+00:00", "Z"),
        cgroup_version="1" if support.driver == "v1" else "2",
        live_restore_enabled=daemon.config.live_restore and daemon.execdriver.live_restore,
        plugins={"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None,
                 "Log": ["json-file"]},
        registry_config={"InsecureRegistryCIDRs": insecure, "IndexConfigs": {},
                         "Mirrors": list(daemon.config.registry_mirrors),
                         "AllowNondistributableArtifactsCIDRs": [],
                         "AllowNondistributableArtifactsHostnames": []},
        http_proxy=os.environ.get("HTTP_PROXY", os.environ.get("http_proxy", "")),
        https_proxy=os.environ.get("HTTPS_PROXY", os.environ.get("https_proxy", "")),
        no_proxy=os.environ.get("NO_PROXY", os.environ.get("no_proxy", "")),
        runtimes={daemon.execdriver.name: {"path": sys.executable}},
        default_runtime=daemon.execdriver.name,
        security_options=_security_options(),
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
