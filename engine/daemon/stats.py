"""`GET /containers/(id)/stats`: CPU, memory, pids and network of a running
container, in the shape Docker gave this endpoint (API v1.17 to v1.41; `id` and
`name` as 1.41 has them).

The numbers come from the exec driver (the container's cgroup) and from the
container's network namespace (/proc/<pid>/net/dev). A stream sends one
reading a second, each carrying the one before as `precpu_stats` so a client
can compute a CPU percentage; it ends when the container stops.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, ClassVar

from ..api.codec import api
from ..errors import Conflict
from ..execdriver.driver import ExecError
from ..jobs import Job, JobArgs
from .container_record import ZERO_TIME

if TYPE_CHECKING:
    from .daemon import Daemon

INTERVAL = 1.0   # seconds between readings of a stream, as Docker


@dataclass
class ContainerStatsArgs(JobArgs["AsyncIterator[ContainerStats]"]):
    job: ClassVar[str] = "container_stats"

    name: str
    stream: bool = True
    empty_when_stopped: bool = False   # a stopped container: one empty reading (API 1.25+), not 409


@dataclass
class CpuUsage:
    total_usage: int = api("total_usage", default=0)
    percpu_usage: list[int] | None = api("percpu_usage", omit_none=True, default=None)
    usage_in_kernelmode: int = api("usage_in_kernelmode", default=0)
    usage_in_usermode: int = api("usage_in_usermode", default=0)


@dataclass
class Throttling:
    periods: int = api("periods", default=0)
    throttled_periods: int = api("throttled_periods", default=0)
    throttled_time: int = api("throttled_time", default=0)


@dataclass
class CpuStats:
    cpu_usage: CpuUsage = api("cpu_usage", default_factory=CpuUsage)
    system_cpu_usage: int = api("system_cpu_usage", default=0)
    throttling_data: Throttling = api("throttling_data", default_factory=Throttling)


@dataclass
class MemoryStats:
    usage: int = api("usage", default=0)
    max_usage: int = api("max_usage", default=0)
    stats: dict[str, int] = api("stats", default_factory=dict)
    failcnt: int = api("failcnt", default=0)
    limit: int = api("limit", default=0)


@dataclass
class NetworkStats:
    rx_bytes: int = api("rx_bytes", default=0)
    rx_packets: int = api("rx_packets", default=0)
    rx_errors: int = api("rx_errors", default=0)
    rx_dropped: int = api("rx_dropped", default=0)
    tx_bytes: int = api("tx_bytes", default=0)
    tx_packets: int = api("tx_packets", default=0)
    tx_errors: int = api("tx_errors", default=0)
    tx_dropped: int = api("tx_dropped", default=0)


@dataclass
class PidsStats:
    current: int = api("current", default=0)


@dataclass
class ContainerStats:
    read: str = api("read", default="")
    pids_stats: PidsStats = api("pids_stats", default_factory=PidsStats)
    networks: dict[str, NetworkStats] = api("networks", default_factory=dict)
    memory_stats: MemoryStats = api("memory_stats", default_factory=MemoryStats)
    blkio_stats: dict = api("blkio_stats", default_factory=dict)
    cpu_stats: CpuStats = api("cpu_stats", default_factory=CpuStats)
    precpu_stats: CpuStats = api("precpu_stats", default_factory=CpuStats)
    name: str = api("name", default="")   # "/name", as dockerd (API 1.41) sends it
    id: str = api("id", default="")


def system_cpu_usage() -> int:
    """All CPUs' time since boot in ns: the first line of /proc/stat, as Docker sums it."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:9]
    return sum(int(x) for x in fields) * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def network_stats(pid: int) -> dict[str, NetworkStats]:
    """Counters of the interfaces in the namespace of `pid` (loopback left out, as Docker)."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, rest = line.partition(":")
        name, v = name.strip(), [int(x) for x in rest.split()]
        if name == "lo" or len(v) < 12:
            continue
        out[name] = NetworkStats(rx_bytes=v[0], rx_packets=v[1], rx_errors=v[2], rx_dropped=v[3],
                                 tx_bytes=v[8], tx_packets=v[9], tx_errors=v[10], tx_dropped=v[11])
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_stats(daemon: Daemon, container, previous: CpuStats, host_mem: int,
               share_host_net: bool) -> ContainerStats:
    """One reading (blocking: call it in a thread)."""
    usage = daemon.execdriver.stats(container.id)
    cpu = CpuStats(CpuUsage(usage.cpu_total, usage.cpu_percpu, usage.cpu_system, usage.cpu_user),
                   system_cpu_usage(),
                   Throttling(usage.throttle_periods, usage.throttled_periods, usage.throttled_time))
    limit = usage.memory_limit or host_mem
    pid = container.record.state.pid
    return ContainerStats(
        read=_now(), pids_stats=PidsStats(usage.pids),
        networks={} if share_host_net or not pid else network_stats(pid),
        memory_stats=MemoryStats(usage.memory_usage, usage.memory_max_usage,
                                 dict(usage.memory_stat or {}), usage.memory_failcnt,
                                 min(limit, host_mem) if host_mem else limit),
        cpu_stats=cpu, precpu_stats=previous, name=container.name, id=container.id)


async def container_stats(daemon: Daemon, job: Job[ContainerStatsArgs]) -> AsyncIterator[ContainerStats]:
    """Checks the container now (so a bad name is a 404 before the stream starts);
    the readings come from the returned iterator."""
    args = job.args
    container = daemon.lookup(args.name)
    if not container.running and not args.empty_when_stopped:
        raise Conflict(f"Container {args.name} is not running")
    if not container.running:
        # dockerd: a stopped container has one empty reading that names it (`stats -a`)
        async def empty() -> AsyncIterator[ContainerStats]:
            yield ContainerStats(read=ZERO_TIME, name=container.name, id=container.id)
        return empty()
    host_mem = await asyncio.to_thread(host_memory)
    share_host_net = container.record.host_config.network_mode == "host"

    async def readings() -> AsyncIterator[ContainerStats]:
        previous = CpuStats()
        while container.running:
            try:
                stats = await asyncio.to_thread(read_stats, daemon, container, previous,
                                                host_mem, share_host_net)
            except ExecError:
                return   # stopped between the check and the read
            yield stats
            if not args.stream:
                return
            previous = stats.cpu_stats
            try:
                await asyncio.wait_for(container.stopped.wait(), INTERVAL)
            except asyncio.TimeoutError:
                pass

    return readings()
