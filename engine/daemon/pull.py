"""`pull`: fetch an image from a v2 registry into the graph.

Manifest (a list picks linux/amd64) -> config -> layers. Layers are downloaded in
parallel (each verified against its digest while it streams to a temp file) and
applied in order as soon as the one below is in; each layer's uncompressed tar must
hash to the config's diff id. A layer already in the graph (by chain id) is not
downloaded again. If anything fails, every layer this pull added is removed again
and the temp files are gone: `images` shows nothing new and the next pull starts clean.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import tempfile
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from ..archive import ArchiveError, decompressed
from ..crashpoint import crash_point
from ..errors import BadRequest
from ..graph import reference
from ..graph.graphdb import LayerRow
from ..graph.image_record import ImageRecord
from ..jobs import Job
from ..registry import imageconfig, manifest
from ..registry.client import RegistryClient, new_session
from ..registry.endpoints import RepositoryInfo, repository_info
from ..registry.errors import DigestMismatch, NoMatchingPlatform, RegistryError
from .registry_jobs import Progress, RegistryPull, registry_config

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger("pyctr.pull")

PARALLEL_DOWNLOADS = 3            # as Docker's max-concurrent-downloads
_STREAM_READ_TIMEOUT = 180        # seconds a streamed layer may wait for its next bytes
_layer_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = weakref.WeakValueDictionary()


def _lock(layer_id: str) -> asyncio.Lock:
    lock = _layer_locks.get(layer_id)
    if lock is None:
        lock = asyncio.Lock()
        _layer_locks[layer_id] = lock
    return lock


@dataclass
class LayerPlan:
    index: int
    layer_id: str             # graph image id: the chain id hex, the config digest hex on top
    chain_id: str
    diff_id: str
    blob: manifest.Descriptor
    present: bool = False     # already in the graph
    copy_from: str = ""       # a graph image with the same chain id (copied locally)
    path: str = ""            # the downloaded blob
    stream: bool = False      # unpacked straight from the registry's response


async def image_pull(daemon: Daemon, job: Job[RegistryPull]) -> None:
    args = job.args
    info = repository_info(args.name)
    ref = args.tag
    if ref.startswith("sha256:"):
        if not reference._DIGEST.match(ref):
            raise BadRequest(f"invalid digest format: {ref}")
    elif ref:
        reference.validate_tag(ref)
    config = registry_config(daemon)
    config.require_registry(info.index, f"{info.local_name}@{ref}" if ref.startswith("sha256:")
                            else f"{info.local_name}:{ref}" if ref else info.local_name)
    progress = Progress(job)
    async with new_session() as session:
        client = RegistryClient(session, config, info.index, args.credentials,
                                info.remote_name, "pull")
        await client.authorize()
        if ref:
            async with daemon.graph.journal("pull"):
                await _pull_one(daemon, client, info, ref, progress)
            return
        tags = await client.tags()
        if not tags:
            raise RegistryError(f"repository {info.local_name} has no tags")
        await progress.status(f"Pulling repository {info.local_name}")
        for tag in sorted(tags):
            async with daemon.graph.journal("pull"):
                await _pull_one(daemon, client, info, tag, progress)


async def _pull_one(daemon: Daemon, client: RegistryClient, info: RepositoryInfo, ref: str,
                    progress: Progress) -> None:
    graph = daemon.graph
    by_digest = ref.startswith("sha256:")
    shown = f"{info.local_name}@{ref}" if by_digest else f"{info.local_name}:{ref}"
    ctype, raw, repo_digest = await client.get_manifest(ref)
    parsed = manifest.parse(ctype, raw)
    if isinstance(parsed, manifest.ManifestList):
        chosen = parsed.pick()
        ctype, raw, _ = await client.get_manifest(chosen.digest)
        parsed = manifest.parse(ctype, raw)
        if isinstance(parsed, manifest.ManifestList):
            raise RegistryError(f"{shown}: a manifest list inside a manifest list")

    plans: list[LayerPlan]
    if parsed.config is not None:
        config = await _fetch_config(client, parsed.config)
        _check_platform(config, shown)
        if len(config.diff_ids) != len(parsed.layers):
            raise RegistryError(f"{shown}: the config lists {len(config.diff_ids)} layers, "
                                f"the manifest {len(parsed.layers)}")
        image_id = parsed.config.digest.split(":", 1)[1]
        plans = _plan(daemon, config, image_id, parsed.layers)
    else:  # schema 1: diff ids are known only once the layers are here
        plans, config, image_id = [], None, ""
    # Only now, with the manifest and config in hand, does the stream start: an unknown
    # tag or a wrong platform is still an ordinary error answer (404) to the client.
    await progress.status(f"Pulling from {info.remote_name.removeprefix('library/')}",
                          ref if not by_digest else ref.split(":")[1][:12])

    if image_id and graph.exists(image_id):
        await _finish(daemon, info, ref, image_id, repo_digest, progress, fresh=False)
        return

    temps: list[str] = []
    added: list[str] = []
    downloads: list[asyncio.Task] = []
    try:
        if config is None:
            plans, config, image_id = await _schema1(daemon, client, parsed, progress, temps)
            if graph.exists(image_id):
                await _finish(daemon, info, ref, image_id, repo_digest, progress, fresh=False)
                return
        for plan in plans:
            await progress.layer(plan.blob.short, "Already exists" if plan.present or plan.copy_from
                                 else "Pulling fs layer")
        # The first layer to fetch is unpacked as it arrives (download and extraction
        # overlap); the others go to temp files in parallel meanwhile.
        wanted = [p for p in plans if not (p.present or p.copy_from or p.path)]
        if wanted:
            wanted[0].stream = True
        sem = asyncio.Semaphore(PARALLEL_DOWNLOADS - 1 if wanted else PARALLEL_DOWNLOADS)
        for plan in plans:
            if plan in wanted and not plan.stream:
                downloads.append(asyncio.create_task(
                    _download(daemon, client, plan, sem, progress, temps)))
            else:
                downloads.append(asyncio.create_task(asyncio.sleep(0)))
        records = imageconfig.records(config, image_id, [p.layer_id for p in plans])
        for plan, record, task in zip(plans, records, downloads):
            await task
            if plan.present:
                continue
            if await _apply(daemon, plan, record, config if record.id == image_id else None,
                            progress, client):
                added.append(record.id)
        if not plans:  # a config without layers
            async with _lock(image_id):
                if not graph.exists(image_id):
                    await graph.register(records[0], None, LayerRow(image_id, "", "", "", 0,
                                                                    config.raw.decode()))
                    added.append(image_id)
    except BaseException:
        for task in downloads:
            task.cancel()
        await asyncio.gather(*downloads, return_exceptions=True)
        await _rollback(daemon, added)
        raise
    finally:
        for path in temps:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    await _finish(daemon, info, ref, image_id, repo_digest, progress, fresh=True)


def _check_platform(config: imageconfig.ImageConfig, shown: str) -> None:
    os_name, arch = config.platform
    if (os_name and os_name != manifest.PLATFORM_OS) or (arch and arch != manifest.PLATFORM_ARCH):
        raise NoMatchingPlatform(f"image {shown} is for {os_name}/{arch}; this daemon runs "
                                 f"{manifest.PLATFORM_OS}/{manifest.PLATFORM_ARCH}")


async def _fetch_config(client: RegistryClient, desc: manifest.Descriptor) -> imageconfig.ImageConfig:
    if desc.size > 8 << 20:
        raise RegistryError(f"image config {desc.digest} is implausibly large ({desc.size} bytes)")
    buf = io.BytesIO()
    await client.fetch_blob(desc.digest, desc.size, buf)
    return imageconfig.parse(buf.getvalue())


def _plan(daemon: Daemon, config: imageconfig.ImageConfig, image_id: str,
          blobs: list[manifest.Descriptor]) -> list[LayerPlan]:
    graph = daemon.graph
    chains = imageconfig.chain_ids(config.diff_ids)
    plans = []
    for i, (blob, diff_id, chain) in enumerate(zip(blobs, config.diff_ids, chains)):
        layer_id = image_id if i == len(blobs) - 1 else chain.split(":", 1)[1]
        plan = LayerPlan(i, layer_id, chain, diff_id, blob)
        if graph.exists(layer_id):
            plan.present = True
        else:
            same = [x for x in graph.db.layers_with_chain(chain) if graph.exists(x)]
            plan.copy_from = same[0] if same else ""
        plans.append(plan)
    return plans


async def _download(daemon: Daemon, client: RegistryClient, plan: LayerPlan, sem: asyncio.Semaphore,
                    progress: Progress, temps: list[str]) -> None:
    ident = plan.blob.short
    if sem.locked():
        await progress.layer(ident, "Waiting")
    async with sem:
        fd, path = tempfile.mkstemp(dir=daemon.config.path("graph"), prefix="pull-")
        temps.append(path)
        total = plan.blob.size

        async def report(done: int) -> None:
            await progress.bytes(ident, "Downloading", done, total, force=done >= total)

        with os.fdopen(fd, "wb") as out:
            await client.fetch_blob(plan.blob.digest, total, out, report)
        await progress.layer(ident, "Verifying Checksum")
        await progress.layer(ident, "Download complete")
        plan.path = path


class _Counting(io.RawIOBase):
    """A file read by the decompress thread, counting bytes for the extract progress."""

    def __init__(self, f) -> None:
        self._f = f
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        n = self._f.readinto(buf)
        self.count += n or 0
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


class _Hashing(io.RawIOBase):
    """The uncompressed layer, hashed as the unpacker reads it (its diff id). `opener`
    gives the decompressed stream; it is called on the first read."""

    def __init__(self, opener) -> None:
        self._opener = opener
        self._f = None
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def _stream(self):
        if self._f is None:
            self._f = self._opener()
        return self._f

    def readinto(self, buf) -> int:  # type: ignore[override]
        data = self._stream().read(len(buf))
        n = len(data)
        buf[:n] = data
        self.hash.update(data)
        return n

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
        super().close()

    def drain(self) -> str:
        while True:
            data = self._stream().read(1 << 20)
            if not data:
                return "sha256:" + self.hash.hexdigest()
            self.hash.update(data)


class _TarIter(io.RawIOBase):
    """A driver's diff (an iterator of tar chunks) as a file."""

    def __init__(self, chunks) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self._buf:
            self._buf = next(self._chunks, b"")
            if not self._buf:
                return 0
        n = min(len(buf), len(self._buf))
        buf[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _StreamedBlob(io.RawIOBase):
    """A blob read from the registry's response by the unpacking (worker) threads, each
    read handed to the event loop; hashed as it goes, checked by `finish`."""

    def __init__(self, resp, loop: asyncio.AbstractEventLoop, digest: str, size: int) -> None:
        self._resp = resp
        self._loop = loop
        self.digest = digest
        self.size = size
        self.hash = hashlib.sha256()
        self.count = 0
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _next(self) -> bytes:
        future = asyncio.run_coroutine_threadsafe(self._resp.content.read(1 << 20), self._loop)
        try:
            data = future.result(timeout=_STREAM_READ_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise RegistryError(f"download of {self.digest} stalled after {self.count} of "
                                f"{self.size} bytes") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise RegistryError(f"download of {self.digest} failed after {self.count} of "
                                f"{self.size} bytes: {exc or type(exc).__name__}") from None
        self.hash.update(data)
        self.count += len(data)
        if self.count > self.size > 0:
            raise DigestMismatch(f"blob {self.digest} is larger than its {self.size} bytes")
        return data

    def readinto(self, buf) -> int:  # type: ignore[override]
        if not self._buf:
            if self._eof:
                return 0
            self._buf = self._next()
            if not self._buf:
                self._eof = True
                return 0
        n = min(len(buf), len(self._buf))
        buf[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def finish(self) -> None:
        """Read what the unpacker left, then check size and digest."""
        while not self._eof:
            if not self._next():
                self._eof = True
        if self.size and self.count != self.size:
            raise RegistryError(f"download of {self.digest} ended after {self.count} of {self.size} bytes")
        got = "sha256:" + self.hash.hexdigest()
        if got != self.digest:
            raise DigestMismatch(f"filesystem layer verification failed for digest {self.digest} "
                                 f"(the registry sent {got})")


async def _apply(daemon: Daemon, plan: LayerPlan, record: ImageRecord,
                 config: imageconfig.ImageConfig | None, progress: Progress,
                 client: RegistryClient) -> bool:
    """Register one layer; False if another pull registered it meanwhile. Never leaves a
    half-made layer, even when cancelled (the unpacking thread is waited for)."""
    graph = daemon.graph
    ident = plan.blob.short
    row = LayerRow(record.id, plan.chain_id, plan.diff_id, plan.blob.digest, plan.blob.size,
                   config.raw.decode() if config is not None else "")
    async with _lock(record.id):
        if graph.exists(record.id):
            return False
        if plan.copy_from:
            source = plan.copy_from
            parent = (graph.db.image(source) or ImageRecord(id="")).parent or None

            def local_copy() -> io.BufferedReader:
                return io.BufferedReader(_TarIter(graph.driver.diff(source, parent)), 1 << 20)

            task = asyncio.ensure_future(graph.register(record, await asyncio.to_thread(local_copy), row))
            await _shielded(task)
            return True
        resp = None
        if plan.stream:
            resp = await client.open_blob(plan.blob.digest)
            source = _StreamedBlob(resp, asyncio.get_running_loop(), plan.blob.digest, plan.blob.size)
            raw: io.RawIOBase = source
        else:
            f = open(plan.path, "rb")
            raw = source = _Counting(f)
        # Built on first read, in the unpacking thread: sniffing the compression reads
        # the blob, which for a streamed one must not happen on the event loop.
        hashing = _Hashing(lambda: decompressed(io.BufferedReader(raw, 1 << 20)))
        stream = io.BufferedReader(hashing, 1 << 20)

        def verify() -> None:
            if isinstance(source, _StreamedBlob):
                source.finish()
            got = hashing.drain()
            if got != plan.diff_id:
                raise DigestMismatch(f"layer {plan.blob.digest}: its content has diff id {got}, "
                                     f"the image config says {plan.diff_id}")

        task = asyncio.ensure_future(graph.register(record, stream, row, verify))
        try:
            abort = resp.close if resp is not None else None
            try:
                while not task.done():
                    downloading = plan.stream and source.count < plan.blob.size
                    await progress.bytes(ident, "Downloading" if downloading else "Extracting",
                                         source.count, plan.blob.size)
                    await asyncio.wait([task], timeout=0.2)
            except asyncio.CancelledError:
                await _shielded_after_cancel(task, abort)
                raise
            try:
                await _shielded(task, abort)
            except (ArchiveError, RegistryError) as exc:
                # A bad tar from a blob that does not match its digest is a bad download.
                if isinstance(source, _StreamedBlob) and not isinstance(exc, DigestMismatch):
                    try:
                        await asyncio.to_thread(source.finish)
                    except RegistryError as download_error:
                        raise download_error from None
                if isinstance(exc, ArchiveError):
                    raise RegistryError(f"layer {plan.blob.digest} is not a valid layer: {exc}") from None
                raise
        finally:
            stream.close()  # stops the decompress thread
            if resp is not None:
                resp.release()
            else:
                f.close()
    if plan.stream:
        await progress.layer(ident, "Verifying Checksum")
        await progress.layer(ident, "Download complete")
    await progress.layer(ident, "Pull complete")
    return True


async def _shielded_after_cancel(task: asyncio.Future, abort=None) -> None:
    if not task.done():
        if abort is not None:
            abort()
        await asyncio.wait([task])


async def _shielded(task: asyncio.Future, abort=None) -> None:
    """Await `task`; if we are cancelled meanwhile, let it finish first (so the layer it
    makes is either registered, and rolled back by the caller, or removed). `abort`
    cuts a streamed download short so that the unpacking fails fast instead."""
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await _shielded_after_cancel(task, abort)
        raise


async def _rollback(daemon: Daemon, added: list[str]) -> None:
    graph = daemon.graph
    for image_id in reversed(added):
        try:
            if not graph.tags(image_id) and not graph.children(image_id):
                await graph.delete(image_id)
        except Exception as exc:  # keep going: each one removed is one less orphan
            log.warning("pull rollback: could not remove %s: %s", image_id[:12], exc)


async def _schema1(daemon: Daemon, client: RegistryClient, parsed: manifest.ImageManifest,
                   progress: Progress, temps: list[str]):
    """Download a schema 1 image's layers first: its diff ids (and so its config digest,
    the image id) come from their content."""
    import json

    plans = [LayerPlan(i, "", "", "", blob) for i, blob in enumerate(parsed.layers)]
    for plan in plans:
        await progress.layer(plan.blob.short, "Pulling fs layer")
    sem = asyncio.Semaphore(PARALLEL_DOWNLOADS)
    await asyncio.gather(*(_download(daemon, client, p, sem, progress, temps) for p in plans))

    def diff_id(path: str) -> str:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            stream = decompressed(f)
            while data := stream.read(1 << 20):
                h.update(data)
        return "sha256:" + h.hexdigest()

    diff_ids = [await asyncio.to_thread(diff_id, p.path) for p in plans]
    data = json.loads(parsed.config_json)
    data["rootfs"]["diff_ids"] = diff_ids
    config = imageconfig.parse(json.dumps(data, sort_keys=True).encode())
    _check_platform(config, "schema 1 image")
    image_id = hashlib.sha256(config.raw).hexdigest()
    fresh = _plan(daemon, config, image_id, parsed.layers)
    for plan, old in zip(fresh, plans):
        plan.path = old.path
    return fresh, config, image_id


async def _finish(daemon: Daemon, info: RepositoryInfo, ref: str, image_id: str, repo_digest: str,
                  progress: Progress, fresh: bool) -> None:
    graph = daemon.graph
    crash_point("pull-before-tag")
    if ref.startswith("sha256:"):
        graph.set_digest_reference(image_id, info.local_name, ref)
        shown = f"{info.local_name}@{ref}"
    else:
        graph.tag(image_id, info.local_name, ref, force=True, digest=repo_digest)
        shown = f"{info.local_name}:{ref}"
    await progress.status(f"Digest: {repo_digest}")
    if fresh:
        await progress.status(f"Status: Downloaded newer image for {shown}")
    else:
        await progress.status(f"Status: Image is up to date for {shown}")
    daemon.events.publish("pull", shown, type="image")

