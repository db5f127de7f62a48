"""The start-up sweep: whatever a daemon that died (SIGKILL, power, OOM) left half-made.

The graph DB is the record of what exists: an image is its row, a container is its
row. Everything else on disk is derived from a row and made before it (a layer
before its image row, a container's directory and layers before its row) or
removed after it (`rm` deletes the row first). So after a crash, anything on disk
without a row was never finished or was being removed, and goes:

- the images and containers of an operation's journal (graph/journal/, see
  graph.Journal): a pull, load, import, commit or build that did not finish;
- container rows whose directory is gone, and container directories without a row;
- layers that belong to no image row and no container row, and the driver's own
  debris (temp copies, dangling short links);
- temp files: <data-root>/tmp (build contexts, load scratch, save spools) and the
  graph's pull-/push-/import- downloads;
- the cgroups and exec state of containers that are not running by their record
  (a start that died before recording it). Containers recorded as running are
  left to the restore step, which decides what happens to them.

Mounts a dead daemon left are unmounted before this (daemon._unmount_leftovers);
its veths and rules are the network's own start-up step (daemon/network.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass, field

from ..api.codec import from_api
from ..errors import is_disk_full
from ..graph.graph import Journal
from .create import init_layer_id
from .container_record import ContainerRecord

log = logging.getLogger("pyctr.sweep")

GRAPH_TEMP_PREFIXES = ("pull-", "push-", "import-")


@dataclass
class SweepReport:
    """What the sweep removed, for the log (and the crash tests)."""
    journals: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    container_rows: list[str] = field(default_factory=list)
    container_dirs: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    driver_debris: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in vars(self).items() if v]
        return ", ".join(parts)


async def sweep(daemon) -> SweepReport:
    report = SweepReport()
    graph, config = daemon.graph, daemon.config
    journal_dir = config.path("graph", "journal")
    os.makedirs(journal_dir, 0o700, exist_ok=True)
    for name in sorted(os.listdir(journal_dir)):
        path = os.path.join(journal_dir, name)
        try:
            await _undo_journal(daemon, Journal.read(path), report)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            # The rows cannot be deleted now: the journal stays for the next start.
            log.warning("undoing %s: %s; left for the next start", name, exc)
            continue
        os.unlink(path)
        report.journals.append(name)

    records = {}
    for data in graph.db.container_records():
        record = from_api(ContainerRecord, data)
        records[record.id] = record
    containers_dir = config.path("containers")
    for cid in list(records):
        if not os.path.isdir(os.path.join(containers_dir, cid)):
            log.warning("container %s has a record but no directory: removing the record", cid[:12])
            try:
                graph.db.delete_container(cid)
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                log.warning("cannot delete it now (%s): left for the next start", exc)
                continue
            del records[cid]
            report.container_rows.append(cid)
    for name in os.listdir(containers_dir):
        if name not in records:
            await _end_processes(daemon, name)
            await asyncio.to_thread(shutil.rmtree, os.path.join(containers_dir, name), True)
            report.container_dirs.append(name)

    keep = {row.id for row in graph.rows()}
    for cid in records:
        keep.update((cid, init_layer_id(cid)))
    report.layers = await asyncio.to_thread(_sweep_layers, graph.driver, keep)
    report.driver_debris = await asyncio.to_thread(graph.driver.sweep, keep)
    report.temp_files = await asyncio.to_thread(_sweep_temp, config)

    for cid, record in records.items():
        if not (record.state.running or record.state.restarting):
            await _end_processes(daemon, cid)
    if report.summary():
        log.info("start-up sweep removed what a dead daemon left: %s", report.summary())
    return report


async def _undo_journal(daemon, entries: list[tuple[str, str]], report: SweepReport) -> None:
    """Undo an unfinished operation, newest first; what others came to use since stays."""
    graph = daemon.graph
    for kind, ident in reversed(entries):
        if kind == "container":
            if graph.db.container_exists(ident):
                graph.db.delete_container(ident)
                report.container_rows.append(ident)
            await _end_processes(daemon, ident)
            # its directory and layers go with the steps below (no row any more)
        elif kind == "image":
            if graph.db.image(ident) is None:
                continue   # never registered: its layer, if any, is swept as an orphan
            if (graph.db.references(ident) or graph.db.children(ident)
                    or graph.db.containers_using_image(ident)):
                continue   # finished by another operation, or in use since
            try:
                await graph.delete(ident)
            except Exception as exc:
                if is_disk_full(exc):
                    raise   # the row is still there: keep the journal
                log.warning("undoing image %s: %s", ident[:12], exc)   # the layer sweep retries
            report.images.append(ident)


async def _end_processes(daemon, container_id: str) -> None:
    """Kill and remove the cgroup and exec state a container's last start left. One the exec
    driver still holds (live restore's keeper) is lifecycle.py's: adopted, or discarded with
    its kept mount and stdio."""
    if container_id in daemon.live:
        return
    try:
        await asyncio.to_thread(daemon.execdriver.terminate, container_id)
    except Exception as exc:   # one stuck cgroup must not keep the daemon down
        log.warning("container %s: could not remove what its last start left: %s",
                    container_id[:12], exc)


def _sweep_layers(driver, keep: set[str]) -> list[str]:
    removed = []
    for layer_id in driver.layer_ids():
        if layer_id not in keep:
            driver.discard(layer_id)
            removed.append(layer_id)
    return removed


def _sweep_temp(config) -> list[str]:
    removed = []
    tmp = config.path("tmp")
    if os.path.isdir(tmp):
        for name in os.listdir(tmp):
            _remove(os.path.join(tmp, name))
            removed.append(f"tmp/{name}")
    graph_dir = config.path("graph")
    for name in os.listdir(graph_dir):
        if name.startswith(GRAPH_TEMP_PREFIXES):
            _remove(os.path.join(graph_dir, name))
            removed.append(f"graph/{name}")
    return removed


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

