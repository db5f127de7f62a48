"""`ps`: the container list, newest first, with the filters of API 1.41
(engine/api/filters.py) and the `since`/`before` parameters of Docker 1.2."""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..api import filters as F
from ..api.filters import Filters, PortFilter
from ..errors import NotFound
from ..jobs import Job
from .args import ContainerList
from .container import Container, parse_time
from . import health
from .create import init_layer_id
from .container_record import ZERO_TIME, mounts, networks
from ..api.records import ContainerSummary, PortSummary

if TYPE_CHECKING:
    from .daemon import Daemon


@dataclass(frozen=True)
class ContainerQuery:
    """A validated filter set, with what it names looked up once."""
    filters: Filters
    statuses: tuple[str, ...]
    exit_codes: tuple[int, ...]
    is_task: bool | None
    publish: PortFilter | None
    expose: PortFilter | None
    ancestors: frozenset[str] | None     # image ids (with their descendants), when filtered by ancestor
    before: Container | None
    since: Container | None

    @classmethod
    def compile(cls, daemon: Daemon, args: ContainerList) -> ContainerQuery:
        """Everything checked before anything is listed: a bad value is a 400, a missing
        `before`/`since` container a 404."""
        f = args.filters.validate(F.CONTAINER_LIST)
        for value in f.get("health"):
            if value not in F.HEALTH_STATES:
                raise F.FilterError(f"Unrecognised filter value for health: {value}")
        for value in f.get("isolation"):
            if value not in ("default", "process", "hyperv"):
                raise F.FilterError(f"Invalid isolation: '{value}'")

        def container(name: str, query_value: str) -> Container | None:
            values = f.get(name) or ((query_value,) if query_value else ())
            found = None
            for value in values:
                found = daemon.lookup(value)
            return found

        return cls(
            filters=f, statuses=f.one_of("status", F.CONTAINER_STATES), exit_codes=f.integers("exited"),
            is_task=f.boolean("is-task"),
            publish=PortFilter.parse("publish", f.get("publish")) if "publish" in f else None,
            expose=PortFilter.parse("expose", f.get("expose")) if "expose" in f else None,
            ancestors=_ancestor_images(daemon, f.get("ancestor")) if "ancestor" in f else None,
            before=container("before", args.before), since=container("since", args.since))

    def includes(self, daemon: Daemon, container: Container) -> bool:
        f, record = self.filters, container.record
        state = record.state
        if not f.matches_pattern("id", record.id):
            return False
        if not f.matches_labels(record.config.labels):
            return False
        if not f.matches_pattern("name", record.name, record.name.lstrip("/")):
            return False
        if self.statuses and state.status not in self.statuses:
            return False
        if self.exit_codes and not (not state.running and state.started_at != ZERO_TIME
                                    and state.exit_code in self.exit_codes):
            return False
        if not f.matches_exactly("health", health.status_of(container)):
            return False
        if not f.matches_exactly("isolation", "default"):
            return False
        if self.is_task:   # only swarm's containers are tasks: none are here
            return False
        if self.ancestors is not None and record.image not in self.ancestors:
            return False
        ports = record.network_settings.ports or {}
        if self.publish is not None and not self.publish.matches(k for k, v in ports.items() if v):
            return False
        if self.expose is not None and not self.expose.matches(ports):
            return False
        if "volume" in f:
            points = {m.get(k, "") for m in mounts(record) for k in ("Destination", "Source", "Name")}
            if not points & set(f.get("volume")):
                return False
        if "network" in f:
            attached = networks(record.network_settings, record.host_config.network_mode or "default")
            ids = [n.get("NetworkID") for n in attached.values() if n.get("NetworkID")]
            if not any(v in attached or any(i.startswith(v) for i in ids) for v in f.get("network")):
                return False
        return True


def _ancestor_images(daemon: Daemon, names: tuple[str, ...]) -> frozenset[str]:
    """The images named and every image built on them (dockerd: a name that names no
    image matches nothing)."""
    graph = daemon.graph
    children: dict[str, list[str]] = {}
    for row in graph.rows():
        if row.parent:
            children.setdefault(row.parent, []).append(row.id)
    found: set[str] = set()
    for name in names:
        try:
            todo = [graph.resolve_id(name)]
        except NotFound:
            continue
        while todo:
            image_id = todo.pop()
            if image_id not in found:
                found.add(image_id)
                todo.extend(children.get(image_id, []))
    return frozenset(found)


async def container_list(daemon: Daemon, job: Job[ContainerList]) -> list[ContainerSummary]:
    args = job.args
    query = ContainerQuery.compile(daemon, args)
    containers = sorted(daemon.containers.values(), key=lambda c: c.record.created, reverse=True)
    # dockerd: a status filter lists stopped containers too; Docker 1.2: so do since/before/limit
    show_all = (args.all or args.limit > 0 or bool(query.statuses) or
                bool(args.since) or bool(args.before))
    if query.before is not None:
        containers = [c for c in containers if c.record.created < query.before.record.created]
    if query.since is not None:
        containers = [c for c in containers if c.record.created > query.since.record.created]
    if not show_all:
        containers = [c for c in containers if c.running]
    containers = [c for c in containers if query.includes(daemon, c)]
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
    """A running container's layer is walked frozen (see frozen.py)."""
    from .frozen import frozen_for_reading
    async with frozen_for_reading(daemon, container):
        return await asyncio.to_thread(_sizes, daemon, container)


def _sizes(daemon: Daemon, container: Container) -> tuple[int, int]:
    driver = daemon.graph.driver
    rw = driver.diff_size(container.id, init_layer_id(container.id))
    return rw, rw + daemon.graph.virtual_size(container.record.image)
