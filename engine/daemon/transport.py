"""Moving filesystems and images as tarballs: changes (diff), export, copy (cp) and the
archive stat of today's `docker cp`, save and load.

Streaming jobs return an async iterator of tar chunks; the driver work behind each
chunk runs in a worker thread, and the iterator releases what it holds (a mounted
layer) when closed, also when the client goes away half-way.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator, BinaryIO, Callable, ClassVar, Iterator

from ..api.messages import PathStat
from ..archive import ArchiveError, pack_dir, unpack
from ..crashpoint import crash_point
from ..errors import BadRequest, NotFound
from ..jobs import Job, JobArgs
from .args import ContainerChanges, ContainerExport
from . import imagetar
from .create import init_layer_id
from ..api.records import FileChange

if TYPE_CHECKING:
    from .daemon import Daemon

KINDS = {"C": 0, "A": 1, "D": 2}


@dataclass
class PathArgs:
    """A path inside a container."""
    name: str
    resource: str


@dataclass
class CopyArgs(PathArgs, JobArgs["CopySource"]):
    """`copy` (and GET of the archive endpoint): a path's content as a tar."""
    job: ClassVar[str] = "container_copy"


@dataclass
class PathStatArgs(PathArgs, JobArgs["PathStat"]):
    """HEAD of the archive endpoint: the path's stat alone."""
    job: ClassVar[str] = "container_archive_stat"


@dataclass
class SaveArgs(JobArgs["AsyncIterator[bytes]"]):
    job: ClassVar[str] = "image_save"

    names: list[str]


@dataclass
class LoadArgs(JobArgs["list[str]"]):
    job: ClassVar[str] = "image_load"

    body: BinaryIO


@dataclass
class CopySource:
    stat: PathStat
    chunks: AsyncIterator[bytes]


async def stream_chunks(chunks: Iterator[bytes], release: Callable[[], None] | None = None
                        ) -> AsyncIterator[bytes]:
    """A blocking chunk iterator, driven from worker threads; `release` runs at the end."""
    def step() -> bytes | None:
        return next(chunks, None)
    try:
        while True:
            chunk = await asyncio.to_thread(step)
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
        if release is not None:
            await asyncio.to_thread(release)


# --- changes / export ------------------------------------------------------------------

async def container_changes(daemon: Daemon, job: Job[ContainerChanges]) -> list[FileChange]:
    container = daemon.lookup(job.args.name)
    changes = await asyncio.to_thread(daemon.graph.driver.changes, container.id,
                                      init_layer_id(container.id))
    return [FileChange(c.path, KINDS[c.kind]) for c in changes]


async def container_export(daemon: Daemon, job: Job[ContainerExport]) -> AsyncIterator[bytes]:
    container = daemon.lookup(job.args.name)
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    daemon.container_event(container, "export")   # Docker 1.2 logs it for every export
    return stream_chunks(pack_dir(rootfs), lambda: driver.put(container.id))


# --- copy (cp) -------------------------------------------------------------------------

def _clean(resource: str) -> str:
    if not resource or not resource.strip():
        raise BadRequest("Path cannot be empty")
    parts = [p for p in resource.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadRequest(f"Invalid path {resource!r}: '..' is not allowed; give a path inside the container")
    return "/" + "/".join(parts)


def _go_mode(st: os.stat_result) -> int:
    mode = stat.S_IMODE(st.st_mode) & 0o777
    kind = stat.S_IFMT(st.st_mode)
    mode |= {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFIFO: 1 << 25,
             stat.S_IFSOCK: 1 << 24, stat.S_IFBLK: 1 << 26,
             stat.S_IFCHR: (1 << 26) | (1 << 21)}.get(kind, 0)
    if st.st_mode & stat.S_ISUID:
        mode |= 1 << 23
    if st.st_mode & stat.S_ISGID:
        mode |= 1 << 22
    if st.st_mode & stat.S_ISVTX:
        mode |= 1 << 20
    return mode


def _path_stat(path: str, name: str) -> PathStat:
    st = os.lstat(path)
    mtime = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc)
    link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
    return PathStat(name or "/", st.st_size, _go_mode(st),
                    mtime.isoformat().replace("+00:00", "Z"), link)


def _host_path(container, rootfs: str, path: str) -> str:
    """Where container path `path` is on the host: the container's own /etc files,
    its volumes, else its filesystem (symlinks followed inside it)."""
    from ..builder.copier import in_rootfs
    record = container.record
    special = {"/etc/hostname": record.hostname_path, "/etc/hosts": record.hosts_path,
               "/etc/resolv.conf": record.resolv_conf_path}
    if path in special and special[path] and os.path.exists(special[path]):
        return special[path]
    for target in sorted(record.volumes or {}, key=len, reverse=True):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return in_rootfs(record.volumes[target], path[len(target):])
    return in_rootfs(rootfs, path)


async def _open_path(daemon: Daemon, name: str, resource: str) -> tuple[str, str, Callable[[], None]]:
    """(clean container path, its host path, release): the container's filesystem is
    mounted until `release()` is called (in a worker thread); NotFound when the path is
    not there."""
    path = _clean(resource)
    container = daemon.lookup(name)
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    try:
        host = _host_path(container, rootfs, path)
        if not os.path.lexists(host):
            raise NotFound(f"Could not find the file {path} in container {name}")
    except BaseException:
        await asyncio.to_thread(driver.put, container.id)
        raise
    return path, host, lambda: driver.put(container.id)


async def container_copy(daemon: Daemon, job: Job[CopyArgs]) -> CopySource:
    """The tar of one path (its base name as the archive's top entry), as 1.2's /copy."""
    args = job.args
    path, host, release = await _open_path(daemon, args.name, args.resource)
    try:
        info = _path_stat(host, os.path.basename(host.rstrip("/")))
        chunks = pack_dir(host) if path == "/" else _pack_one(host)
    except BaseException:
        await asyncio.to_thread(release)
        raise
    return CopySource(info, stream_chunks(chunks, release))


def _pack_one(host: str) -> Iterator[bytes]:
    """Tar `host` with its base name as the top entry (a symlink's target's name, as in 1.2)."""
    parent, base = os.path.split(host.rstrip("/"))
    return pack_dir(parent or "/", [base])


async def container_archive_stat(daemon: Daemon, job: Job[PathStatArgs]) -> PathStat:
    args = job.args
    path, host, release = await _open_path(daemon, args.name, args.resource)
    try:
        return _path_stat(host, os.path.basename(path))
    finally:
        await asyncio.to_thread(release)


@dataclass
class PutArchiveArgs(JobArgs[None]):
    job: ClassVar[str] = "container_archive_put"

    name: str
    path: str
    body: BinaryIO           # a blocking reader of the tar (used from a worker thread)


async def container_archive_put(daemon: Daemon, job: Job[PutArchiveArgs]) -> None:
    """`PUT /containers/(id)/archive` (API 1.20+, today's `docker cp HOST CONTAINER:DIR`):
    unpack a tar into an existing directory of the container; nothing lands outside it."""
    args = job.args
    path, host, release = await _open_path(daemon, args.name, args.path)
    try:
        if not os.path.isdir(host):
            raise BadRequest(f"extraction point {path} is not a directory")
        try:
            await asyncio.to_thread(unpack, args.body, host)
        except ArchiveError as exc:
            raise BadRequest(f"Error processing tar file: {exc}") from None
    finally:
        await asyncio.to_thread(release)


# --- save / load -----------------------------------------------------------------------

def _spool_dir(daemon: Daemon) -> str:
    from .build import scratch_root
    return scratch_root(daemon)


async def image_save(daemon: Daemon, job: Job[SaveArgs]) -> AsyncIterator[bytes]:
    args = job.args
    if not args.names:
        raise BadRequest("give at least one image name")
    what = imagetar.save_set(daemon.graph, args.names)  # NotFound before any byte is sent
    return stream_chunks(imagetar.write_save(daemon.graph, what, _spool_dir(daemon)))


async def image_load(daemon: Daemon, job: Job[LoadArgs]) -> list[str]:
    """Unpack the archive into a scratch directory, plan, then register layer by layer;
    on any failure remove what this load registered. Returns what was loaded."""
    args = job.args
    graph = daemon.graph
    scratch = tempfile.mkdtemp(prefix="load-", dir=_spool_dir(daemon))
    registered: list[str] = []
    journal = graph.begin("load")   # a crash mid-load: the start-up sweep undoes what it stored
    try:
        await asyncio.to_thread(imagetar.extract, args.body, scratch)
        plan = await asyncio.to_thread(imagetar.plan_load, scratch, graph.exists)
        for layer in plan.layers:
            if graph.exists(layer.record.id):
                continue
            stream, checker = await asyncio.to_thread(imagetar.open_layer, layer)
            try:
                await graph.register(layer.record, stream)
            except imagetar.ArchiveError as exc:
                raise imagetar.LoadError(
                    f"layer {layer.record.id[:12]} of the archive is corrupt: {exc}") from None
            finally:
                stream.close()
            registered.append(layer.record.id)
            if checker is not None and "sha256:" + checker.digest.hexdigest() != layer.diff_id:
                raise imagetar.LoadError(f"layer {os.path.relpath(layer.tar_path, scratch)} does not "
                                         f"match its diff id {layer.diff_id}: the archive is corrupt")
        crash_point("load-before-tag")
        with graph.db.transaction():
            for repository, tag, image_id in plan.tags:
                graph.tag(image_id, repository, tag, force=True)
    except BaseException:
        for image_id in reversed(registered):
            await graph.delete(image_id)
        raise
    finally:
        if journal is not None:
            journal.end()
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    for image_id in registered:
        daemon.events.publish("load", image_id, type="image")
    if plan.tags:
        return [f"Loaded image: {r}:{t}" for r, t, _ in plan.tags]
    return [f"Loaded image ID: {i}" for i in plan.tops]
