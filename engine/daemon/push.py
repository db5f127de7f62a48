"""`push`: send an image (every layer of its chain, its config, a manifest) to a v2 registry.

For each layer: a blob the registry has already is skipped (HEAD), one another
repository of the same registry has is mounted, else it is uploaded (one PUT when
small, PATCH chunks when large). A layer made locally is packed and gzipped once;
its digests are kept in the graph DB so the next push does not pack it again. An
image pulled from a registry pushes its original config byte for byte (same id)
when its layer blobs are still the ones it was pulled with.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NotFound
from ..graph.graphdb import LayerRow
from ..graph.image_record import ImageRecord
from ..jobs import Job
from ..registry import imageconfig, manifest
from ..registry.client import RegistryClient, new_session
from ..registry.endpoints import RepositoryInfo, repository_info, split_index
from .registry_jobs import Progress, RegistryPush, registry_config

if TYPE_CHECKING:
    from .daemon import Daemon

try:
    from isal import igzip as _fast_gzip
except ImportError:  # optional dependency
    _fast_gzip = None

GZIP_LEVEL = 1  # ISA-L's level 1 (or zlib's 1): fast, and the registry stores what we send


@dataclass
class LayerBlob:
    image_id: str
    digest: str
    diff_id: str
    size: int
    path: str = ""       # the packed blob when this push made it


async def image_push(daemon: Daemon, job: Job[RegistryPush]) -> None:
    args = job.args
    graph = daemon.graph
    info = repository_info(args.name)
    if args.tag:
        row = graph.db.tag(info.local_name, args.tag)
        if row is None:
            raise NotFound(f"An image does not exist locally with the tag: {info.local_name}:{args.tag}")
        tags = [row]
    else:
        tags = [t for t in graph.tags() if t.repository == info.local_name]
        if not tags:
            raise NotFound(f"An image does not exist locally with the tag: {info.local_name}")
    progress = Progress(job)
    async with new_session() as session:
        client = RegistryClient(session, registry_config(daemon), info.index, args.credentials,
                                info.remote_name, "pull,push")
        await client.connect(client.config.endpoints(info.index, for_pull=False))
        await client.authorize()
        await progress.status(f"The push refers to repository [{info.local_name}]")
        for row in tags:
            await _push_one(daemon, client, info, row.tag, row.image_id, progress)


async def _push_one(daemon: Daemon, client: RegistryClient, info: RepositoryInfo, tag: str, image_id: str,
                    progress: Progress) -> None:
    graph = daemon.graph
    chain = [graph.db.image(row.id) for row in reversed(graph.history(image_id))]
    records: list[ImageRecord] = [r for r in chain if r is not None]
    temps: list[str] = []
    try:
        blobs = []
        for i, record in enumerate(records):
            blobs.append(await _layer_blob(daemon, record, records[i - 1].id if i else None, temps))
        for blob in blobs:
            await progress.layer(_short(blob.digest), "Preparing")
        sources = _mount_sources(daemon, info, image_id)
        for blob in blobs:
            await _send_layer(daemon, client, blob, sources, progress, temps)
        config_raw = _config_for(daemon, records, blobs)
        config_digest = manifest.sha256_digest(config_raw)
        if not await client.blob_exists(config_digest):
            fd, path = tempfile.mkstemp(dir=daemon.config.path("graph"), prefix="push-")
            temps.append(path)
            with os.fdopen(fd, "wb") as f:
                f.write(config_raw)
            await client.upload_blob(path, config_digest, len(config_raw))
        raw = manifest.schema2(manifest.Descriptor(manifest.DOCKER_CONFIG, config_digest, len(config_raw)),
                               [manifest.Descriptor(manifest.DOCKER_LAYER, b.digest, b.size) for b in blobs])
        digest = await client.put_manifest(tag, manifest.DOCKER_V2, raw)
    finally:
        for path in temps:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    graph.db.set_tag(info.local_name, tag, image_id, digest)
    await progress.status(f"{tag}: digest: {digest} size: {len(raw)}")
    await progress.aux({"Tag": tag, "Digest": digest, "Size": len(raw)})
    daemon.events.publish("push", f"{info.local_name}:{tag}", type="image")


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


async def _layer_blob(daemon: Daemon, record: ImageRecord, parent: str | None, temps: list[str]) -> LayerBlob:
    """The layer's blob as the registry will know it: from the graph DB when pull or an
    earlier push recorded it, else packed and gzipped now (and recorded)."""
    graph = daemon.graph
    row = graph.db.layer(record.id)
    if row is not None and row.blob_digest:
        return LayerBlob(record.id, row.blob_digest, row.diff_id, row.blob_size)
    return await _pack(daemon, record, parent, temps)


async def _pack(daemon: Daemon, record: ImageRecord, parent: str | None, temps: list[str]) -> LayerBlob:
    graph = daemon.graph
    fd, path = tempfile.mkstemp(dir=daemon.config.path("graph"), prefix="push-")
    temps.append(path)
    diff_id, digest, size = await asyncio.to_thread(_pack_layer, graph.driver, record.id, parent, fd)
    if graph.db.layer(record.id) is None:  # a pulled layer keeps the row it came with
        below = graph.db.layer(parent) if parent else None
        if parent is None:
            chain = diff_id
        elif below is not None and below.chain_id:
            chain = imageconfig.chain_ids([below.chain_id, diff_id])[1]
        else:
            chain = ""
        graph.db.set_layer(LayerRow(record.id, chain, diff_id, digest, size))
    return LayerBlob(record.id, digest, diff_id, size, path)


class _HashingWriter:
    def __init__(self, f) -> None:
        self._f = f
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def _pack_layer(driver, layer_id: str, parent: str | None, fd: int) -> tuple[str, str, int]:
    """Tar the layer's own changes and gzip them into `fd`: (diff id, blob digest, size)."""
    tar_hash = hashlib.sha256()
    with os.fdopen(fd, "wb") as raw:
        out = _HashingWriter(raw)
        if _fast_gzip is not None:
            gz = _fast_gzip.IGzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        else:
            gz = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        with gz:
            for chunk in driver.diff(layer_id, parent):
                tar_hash.update(chunk)
                gz.write(chunk)
    return "sha256:" + tar_hash.hexdigest(), "sha256:" + out.hash.hexdigest(), out.size


def _mount_sources(daemon: Daemon, info: RepositoryInfo, image_id: str) -> dict[str, list[str]]:
    """Layer id -> other repositories of the same registry whose images contain it."""
    graph = daemon.graph
    out: dict[str, list[str]] = {}
    for row in graph.db.references():
        index, remote = split_index(row.repository)
        if index != info.index or row.repository == info.local_name:
            continue
        for layer in graph.history(row.image_id):
            repos = out.setdefault(layer.id, [])
            if remote not in repos:
                repos.append(remote)
    return out


async def _send_layer(daemon: Daemon, client: RegistryClient, blob: LayerBlob, sources: dict[str, list[str]],
                      progress: Progress, temps: list[str]) -> None:
    ident = _short(blob.digest)
    if await client.blob_exists(blob.digest):
        await progress.layer(ident, "Layer already exists")
        return
    location = None
    for repo in sources.get(blob.image_id, []):
        location = await client.mount_blob(blob.digest, repo)
        if location is None:
            await progress.layer(ident, f"Mounted from {repo}")
            return
        break  # the registry opened an upload instead: use it
    if not blob.path:
        # Known by digest only (pulled), and this registry lacks it: pack it again. The
        # new blob has its own digests; the config is then rebuilt to match them.
        record = daemon.graph.db.image(blob.image_id)
        fresh = await _pack(daemon, record, record.parent or None, temps)
        blob.digest, blob.diff_id, blob.size, blob.path = fresh.digest, fresh.diff_id, fresh.size, fresh.path
        ident = _short(blob.digest)
        if await client.blob_exists(blob.digest):
            await progress.layer(ident, "Layer already exists")
            return
        location = None

    async def report(done: int) -> None:
        await progress.bytes(ident, "Pushing", done, blob.size, force=done >= blob.size)

    await client.upload_blob(blob.path, blob.digest, blob.size, report, location)
    await progress.layer(ident, "Pushed")


def _config_for(daemon: Daemon, records: list[ImageRecord], blobs: list[LayerBlob]) -> bytes:
    """The pulled config when it still describes these layers, else one made from the records."""
    diff_ids = [b.diff_id for b in blobs]
    top = daemon.graph.db.layer(records[-1].id) if records else None
    if top is not None and top.config:
        raw = top.config.encode()
        try:
            if imageconfig.parse(raw).diff_ids == diff_ids:
                return raw
        except Exception:
            pass
    return imageconfig.from_records(records, diff_ids)
