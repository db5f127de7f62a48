"""`ps`: the container list, newest first, with Docker 1.2's filters."""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING

from ..api.codec import api
from ..jobs import Job
from .args import ContainerList
from .container import Container, parse_time
from .create import init_layer_id
from .records import mounts, networks
from ..api.records import ContainerSummary, PortSummary

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_list(daemon: Daemon, job: Job[ContainerList]) -> list[ContainerSummary]:
    args = job.args
    containers = sorted(daemon.containers.values(), key=lambda c: c.record.created, reverse=True)
    show_all = args.all or args.limit > 0 or bool(args.since) or bool(args.before)
    if args.before:
        before = daemon.lookup(args.before)
        containers = [c for c in containers if c.record.created < before.record.created]
    if args.since:
        since = daemon.lookup(args.since)
        containers = [c for c in containers if c.record.created > since.record.created]
    if not show_all:
        containers = [c for c in containers if c.running]
    if args.exited is not None:
        containers = [c for c in containers if not c.running and c.record.state.exit_code == args.exited
                      and c.record.state.finished_at != "0001-01-01T00:00:00Z"]
    if args.status:
        containers = [c for c in containers if c.record.state.status == args.status]
    if args.limit > 0:
        containers = containers[:args.limit]
    names = _names_by_id(daemon)
    now = datetime.datetime.now(datetime.timezone.utc)
    resolved: dict[str, str | None] = {}
    summaries = [_summary(daemon, c, names.get(c.id, []), now, resolved) for c in containers]
    if args.size:
        sizes = await asyncio.gather(*(_sizes_frozen(daemon, c) for c in containers))
        for summary, (rw, root) in zip(summaries, sizes):
            summary.size_rw, summary.size_root_fs = rw, root
    return summaries


def _names_by_id(daemon: Daemon) -> dict[str, list[str]]:
    """Each container's name, plus "/parent/alias" for every link to it (Docker 1.2's ps)."""
    names = {c.id: [c.name] for c in daemon.containers.values()}
    for parent_id, child_id, alias in daemon.graph.db.all_links():  # one query, not one per container
        parent = daemon.containers.get(parent_id)
        if parent is not None:
            names.setdefault(child_id, []).append(f"{parent.name}/{alias}")
    return names


def image_display_name(daemon: Daemon, container: Container, resolved: dict[str, str | None] | None = None) -> str:
    """What the user asked for, while it still names the same image; else the short id.
    `resolved` caches name -> image id across one listing."""
    wanted = container.record.config.image
    resolved = {} if resolved is None else resolved
    if wanted and wanted not in resolved:
        try:
            resolved[wanted] = daemon.graph.resolve_id(wanted)
        except Exception:
            resolved[wanted] = None
    if wanted and resolved[wanted] == container.record.image:
        return wanted
    return container.record.image[:12]


def _summary(daemon: Daemon, container: Container, names: list[str], now,
             resolved: dict[str, str | None]) -> ContainerSummary:
    record = container.record
    created = parse_time(record.created) or now
    return ContainerSummary(
        id=record.id,
        image=image_display_name(daemon, container, resolved),
        command=" ".join([record.path] + record.args),
        created=int(created.timestamp()),
        status=container.status(now),
        ports=port_summaries(record.network_settings.ports),
        names=names,
        labels=record.config.labels or {},
        image_id=record.image,
        state=record.state.status,
        mounts=mounts(record),
        network_settings={"Networks": networks(record.network_settings, record.host_config.network_mode)},
        host_config={"NetworkMode": record.host_config.network_mode or "default"},
    )


def port_summaries(ports: dict | None) -> list[PortSummary]:
    out = []
    for key, bindings in sorted((ports or {}).items()):
        port, _, proto = key.partition("/")
        if not bindings:
            out.append(PortSummary(int(port), proto or "tcp"))
        for binding in bindings or []:
            out.append(PortSummary(int(port), proto or "tcp", binding.get("HostIp") or "0.0.0.0",
                                   int(binding["HostPort"])))
    return out


async def _sizes_frozen(daemon: Daemon, container: Container) -> tuple[int, int]:
    """A running container's layer is walked frozen (see transport.frozen_for_reading)."""
    from .transport import frozen_for_reading
    async with frozen_for_reading(daemon, container):
        return await asyncio.to_thread(_sizes, daemon, container)


def _sizes(daemon: Daemon, container: Container) -> tuple[int, int]:
    driver = daemon.graph.driver
    rw = driver.diff_size(container.id, init_layer_id(container.id))
    return rw, rw + daemon.graph.virtual_size(container.record.image)
