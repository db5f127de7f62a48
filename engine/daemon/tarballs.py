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
from ..crashpoint import crash_point
from .frozen import frozen_for_reading
from ..errors import BadRequest, NotFound
from ..jobs import Job, JobArgs
from ..libcontainer.inroot_client import open_root
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
    """API 1.2's `copy`: a path's content as a tar, under the name it resolves to."""
    job: ClassVar[str] = "container_copy"


@dataclass
class ArchiveGetArgs(PathArgs, JobArgs["CopySource"]):
    """GET of the archive endpoint: a path's content as a tar, a symlink as the link."""
    job: ClassVar[str] = "container_archive_get"


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
    async with frozen_for_reading(daemon, container):
        changes = await asyncio.to_thread(daemon.graph.driver.changes, container.id,
                                          init_layer_id(container.id))
    return [FileChange(c.path, KINDS[c.kind]) for c in changes]


async def container_export(daemon: Daemon, job: Job[ContainerExport]) -> AsyncIterator[bytes]:
    """The container's filesystem (no volumes), tarred inside it by the helper: a running
    container that swaps a directory for a symlink to `/` only changes what is tarred."""
    container = daemon.lookup(job.args.name)
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    root_fd = -1
    try:
        root_fd = open_root(rootfs)
        chunks = await asyncio.to_thread(daemon.inroot.export, root_fd)
    except BaseException:
        await asyncio.to_thread(_release, driver, container.id, root_fd)
        raise
    daemon.container_event(container, "export")   # Docker 1.2 logs it for every export
    return stream_chunks(chunks, lambda: _release(driver, container.id, root_fd))


def _release(driver, layer_id: str, root_fd: int) -> None:
    if root_fd >= 0:
        os.close(root_fd)
    driver.put(layer_id)


# --- copy (cp) -------------------------------------------------------------------------

def _clean(resource: str) -> str:
    if not resource or not resource.strip():
        raise BadRequest("Path cannot be empty")
    parts = [p for p in resource.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadRequest(f"Invalid path {resource!r}: '..' is not allowed; give a path inside the container")
    return "/" + "/".join(parts)


def _follows_last(resource: str) -> bool:
    """Docker's rule: a path ending in `/` or `/.` means what its last symlink points to."""
    return resource.endswith("/") or resource.endswith("/.")


def _go_mode(st_mode: int) -> int:
    mode = stat.S_IMODE(st_mode) & 0o777
    kind = stat.S_IFMT(st_mode)
    mode |= {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFIFO: 1 << 25,
             stat.S_IFSOCK: 1 << 24, stat.S_IFBLK: 1 << 26,
             stat.S_IFCHR: (1 << 26) | (1 << 21)}.get(kind, 0)
    if st_mode & stat.S_ISUID:
        mode |= 1 << 23
    if st_mode & stat.S_ISGID:
        mode |= 1 << 22
    if st_mode & stat.S_ISVTX:
        mode |= 1 << 20
    return mode


def _path_stat(info: dict, name: str) -> PathStat:
    mtime = datetime.datetime.fromtimestamp(info["mtime_ns"] / 1e9, datetime.timezone.utc)
    return PathStat(name or "/", info["size"], _go_mode(info["mode"]),
                    mtime.isoformat().replace("+00:00", "Z"), info["link_target"])


@dataclass
class _Place:
    """Where a container path is: a directory the daemon owns (the container's
    filesystem, a volume's directory, the container's own /etc files' directory) and
    the path inside it. Only the helper, chrooted at `root`, ever resolves `inner`."""
    root: str
    inner: str
    read_only: str = ""   # why a copy into it is refused, as Docker words it


def _place(container, rootfs: str, path: str) -> _Place:
    record = container.record
    special = {"/etc/hostname": record.hostname_path, "/etc/hosts": record.hosts_path,
               "/etc/resolv.conf": record.resolv_conf_path}
    if special.get(path) and os.path.exists(special[path]):
        return _Place(os.path.dirname(special[path]), "/" + os.path.basename(special[path]))
    for target in sorted(record.volumes or {}, key=len, reverse=True):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            writable = (record.volumes_rw or {}).get(target, True)
            return _Place(record.volumes[target], path[len(target.rstrip("/")):] or "/",
                          "" if writable else "mounted volume is marked read-only")
    return _Place(rootfs, path, "container rootfs is marked read-only"
                  if record.host_config.readonly_rootfs else "")


@dataclass
class _Opened:
    """A container path's root, open as a directory descriptor, and what to release."""
    path: str          # the clean container path
    inner: str         # the path inside the root, as the helper resolves it
    root_fd: int
    release: Callable[[], None]   # closes the descriptor, unmounts (call from a thread)
    read_only: str                # why it takes no copies ("" if it does)


async def _open_path(daemon: Daemon, name: str, resource: str) -> _Opened:
    """Mount the container's filesystem and open the root that holds `resource`; keep the
    caller's trailing `/` or `/.` on the inner path (it says: follow the last link)."""
    path = _clean(resource)
    container = daemon.lookup(name)
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    root_fd = -1
    try:
        place = _place(container, rootfs, path)
        root_fd = open_root(place.root)
    except BaseException:
        await asyncio.to_thread(_release, driver, container.id, root_fd)
        raise
    inner = place.inner + ("/" if _follows_last(resource) and place.inner != "/" else "")
    return _Opened(path, inner, root_fd, lambda: _release(driver, container.id, root_fd),
                   place.read_only)


async def container_copy(daemon: Daemon, job: Job[CopyArgs]) -> CopySource:
    """The tar of one path under the base name of what it resolves to (its top entry), as
    1.2's /copy did."""
    args = job.args
    opened = await _open_path(daemon, args.name, args.resource)
    try:
        info, chunks = await asyncio.to_thread(daemon.inroot.pack, opened.root_fd,
                                               opened.inner, True, None)
    except BaseException:
        await asyncio.to_thread(opened.release)
        raise
    return CopySource(_path_stat(info, os.path.basename(opened.path)),
                      stream_chunks(chunks, opened.release))


async def container_archive_get(daemon: Daemon, job: Job[ArchiveGetArgs]) -> CopySource:
    """`GET /containers/(id)/archive` (API 1.20+): the tar of one path under its own base
    name; a symlink is the link itself unless the path ends in `/` or `/.`."""
    args = job.args
    opened = await _open_path(daemon, args.name, args.resource)
    name = _base_name(args.resource, opened.path)
    try:
        info, chunks = await asyncio.to_thread(daemon.inroot.pack, opened.root_fd, opened.inner,
                                               _follows_last(args.resource), name or None)
    except BaseException:
        await asyncio.to_thread(opened.release)
        raise
    return CopySource(_path_stat(info, name), stream_chunks(chunks, opened.release))


def _base_name(resource: str, path: str) -> str:
    """The archive's top entry: the path's base name, or `.` for `DIR/.` (its content,
    entries `./NAME`, which the client renames to its destination)."""
    return "." if resource.endswith("/.") and path != "/" else os.path.basename(path)


async def container_archive_stat(daemon: Daemon, job: Job[PathStatArgs]) -> PathStat:
    args = job.args
    opened = await _open_path(daemon, args.name, args.resource)
    try:
        info = await asyncio.to_thread(daemon.inroot.stat, opened.root_fd, opened.inner,
                                       _follows_last(args.resource))
        return _path_stat(info, _base_name(args.resource, opened.path))
    finally:
        await asyncio.to_thread(opened.release)


@dataclass
class PutArchiveArgs(JobArgs[None]):
    job: ClassVar[str] = "container_archive_put"

    name: str
    path: str
    body: BinaryIO           # a blocking reader of the tar (used from a worker thread)


async def container_archive_put(daemon: Daemon, job: Job[PutArchiveArgs]) -> None:
    """`PUT /containers/(id)/archive` (API 1.20+, today's `docker cp HOST CONTAINER:DIR`):
    unpack a tar into an existing directory of the container, inside it (the helper's
    chroot), so nothing lands outside it whatever the container does meanwhile."""
    args = job.args
    opened = await _open_path(daemon, args.name, args.path)
    try:
        if opened.read_only:
            raise BadRequest(opened.read_only)
        await asyncio.to_thread(daemon.inroot.unpack, opened.root_fd, opened.inner, args.body)
    finally:
        await asyncio.to_thread(opened.release)


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
