"""Images as tarballs: what `save` writes and `load` reads.

`save` writes Docker 1.2's layout (`repositories`; one directory per layer with
`VERSION`, `json`, `layer.tar`) and, beside it, the `manifest.json` + config file
that Docker 1.10 and later read, so a real Docker engine loads it either way.
`load` reads the 1.2 layout (also what Docker up to 24 still writes next to its
manifest) and, failing that, `manifest.json` with `Layers` anywhere in the archive
(Docker 25's OCI-style `blobs/sha256/...`), checking each layer's diff id.

Everything is checked before anything is stored, and what one load stored is
removed again if a later layer fails: a corrupt archive leaves nothing behind.
Blocking code (run in worker threads) except where marked async.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from ..archive import ArchiveError, decompressed, unpack
from ..archive.tarformat import DIR, REG, TarEntry, encode_header, END_OF_ARCHIVE
from ..api.codec import from_api, to_api
from ..errors import BadRequest
from ..graph import reference
from ..graph.image_record import ImageRecord
from ..api.config import ContainerConfig

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class LoadError(BadRequest):
    """The archive is not a loadable image archive; nothing was stored."""


# --- the v1 image JSON (Docker 1.2's `<id>/json`) ----------------------------------------

def v1_json(record: ImageRecord) -> dict:
    data = {"id": record.id, "created": record.created, "container": record.container,
            "container_config": to_api(record.container_config),
            "docker_version": record.docker_version, "author": record.author,
            "architecture": record.architecture or "amd64", "os": record.os or "linux",
            "Size": record.size}
    if record.parent:
        data["parent"] = record.parent
    if record.comment:
        data["comment"] = record.comment
    if record.config is not None:
        data["config"] = to_api(record.config)
    return data


def _config(data, what: str) -> ContainerConfig | None:
    if data is None:
        return None
    try:
        return from_api(ContainerConfig, data)
    except ValueError as exc:
        raise LoadError(f"invalid {what}: {exc}") from None


def record_from_v1(data: dict, where: str) -> ImageRecord:
    if not isinstance(data, dict):
        raise LoadError(f"{where}: not a JSON object")
    image_id = data.get("id")
    if not isinstance(image_id, str) or not _HEX64.match(image_id):
        raise LoadError(f"{where}: invalid image id {image_id!r}")
    parent = data.get("parent") or ""
    if parent and (not isinstance(parent, str) or not _HEX64.match(parent)):
        raise LoadError(f"{where}: invalid parent id {parent!r}")

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""
    return ImageRecord(
        id=image_id, parent=parent, comment=text("comment"), created=text("created"),
        container=text("container"),
        container_config=_config(data.get("container_config"), f"{where} container_config") or ContainerConfig(),
        docker_version=text("docker_version"), author=text("author"),
        config=_config(data.get("config"), f"{where} config"),
        architecture=text("architecture") or "amd64", os=text("os") or "linux")


# --- save -----------------------------------------------------------------------------

@dataclass
class SaveSet:
    """What to write: layers parent-first, the tops each name asked for, their tags."""
    layers: list[ImageRecord] = field(default_factory=list)
    tops: dict[str, list[str]] = field(default_factory=dict)       # image id -> ["repo:tag"]
    repositories: dict[str, dict[str, str]] = field(default_factory=dict)


def save_set(graph, names: list[str]) -> SaveSet:
    """Resolve the names (a repository: all its tags; repo:tag; an id) to what to save."""
    out = SaveSet()
    seen: set[str] = set()
    for name in names:
        repo = reference.normalize(name)
        tags = [t for t in graph.tags() if t.repository == repo] if ":" not in name.rsplit("/", 1)[-1] else []
        if tags:
            chosen = [(t.repository, t.tag, t.image_id) for t in tags]
        else:
            image_id = graph.resolve_id(name)
            r, t = reference.split_tag(name)
            row = graph.db.tag(reference.normalize(r), t or reference.DEFAULT_TAG)
            chosen = [(row.repository, row.tag, image_id)] if row and row.image_id == image_id else []
            out.tops.setdefault(image_id, [])
        for repository, tag, image_id in chosen:
            out.tops.setdefault(image_id, []).append(f"{repository}:{tag}")
            out.repositories.setdefault(repository, {})[tag] = image_id
    for top in out.tops:
        chain = [row.id for row in graph.history(top)]
        for image_id in reversed(chain):
            if image_id not in seen:
                seen.add(image_id)
                record = graph.db.image(image_id)
                assert record is not None
                out.layers.append(record)
    return out


def _entry(name: str, data: bytes) -> bytes:
    header = encode_header(TarEntry(name=name, type=REG, mode=0o644, size=len(data)))
    return header + data + bytes(-len(data) % 512)


def _dir(name: str) -> bytes:
    return encode_header(TarEntry(name=name + "/", type=DIR, mode=0o755))


def write_save(graph, what: SaveSet, spool_dir: str) -> Iterator[bytes]:
    """The archive as a stream of chunks. Each layer is spooled to a temporary file
    first: its size (the tar header) and digest (the manifest) come before its data."""
    diff_ids: dict[str, str] = {}
    for record in what.layers:
        yield _dir(record.id)
        yield _entry(f"{record.id}/VERSION", b"1.0")
        yield _entry(f"{record.id}/json", json.dumps(v1_json(record)).encode())
        with tempfile.TemporaryFile(dir=spool_dir) as spool:
            digest = hashlib.sha256()
            for chunk in graph.driver.diff(record.id, record.parent or None):
                spool.write(chunk)
                digest.update(chunk)
            size = spool.tell()
            diff_ids[record.id] = "sha256:" + digest.hexdigest()
            spool.seek(0)
            yield encode_header(TarEntry(name=f"{record.id}/layer.tar", type=REG, mode=0o644, size=size))
            while chunk := spool.read(CHUNK):
                yield chunk
            yield bytes(-size % 512)
    manifest = []
    for top, repo_tags in what.tops.items():
        config = modern_config(graph, top, diff_ids)
        data = json.dumps(config).encode()
        name = hashlib.sha256(data).hexdigest() + ".json"
        yield _entry(name, data)
        chain = [row.id for row in graph.history(top)][::-1]
        manifest.append({"Config": name, "RepoTags": repo_tags or None,
                         "Layers": [f"{i}/layer.tar" for i in chain]})
    yield _entry("manifest.json", json.dumps(manifest).encode())
    if what.repositories:
        yield _entry("repositories", json.dumps(what.repositories).encode())
    yield END_OF_ARCHIVE


def modern_config(graph, top: str, diff_ids: dict[str, str]) -> dict:
    """The image config of Docker 1.10+ (`rootfs.diff_ids`, `history`) for image `top`."""
    record = graph.db.image(top)
    chain = [graph.db.image(row.id) for row in graph.history(top)][::-1]
    history = []
    for layer in chain:
        entry = {"created": layer.created,
                 "created_by": " ".join(layer.container_config.cmd or [])}
        if layer.author:
            entry["author"] = layer.author
        if layer.comment:
            entry["comment"] = layer.comment
        history.append(entry)
    config = {"architecture": record.architecture or "amd64", "os": record.os or "linux",
              "created": record.created, "docker_version": record.docker_version,
              "author": record.author, "container": record.container,
              "container_config": to_api(record.container_config),
              "config": to_api(record.config or ContainerConfig()),
              "history": history,
              "rootfs": {"type": "layers", "diff_ids": [diff_ids[layer.id] for layer in chain]}}
    return config


# --- load -----------------------------------------------------------------------------

@dataclass
class LayerPlan:
    record: ImageRecord
    tar_path: str
    diff_id: str = ""          # "sha256:..." to check while unpacking (manifest layout)


@dataclass
class LoadPlan:
    layers: list[LayerPlan] = field(default_factory=list)     # parent first
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # repository, tag, image id
    tops: list[str] = field(default_factory=list)


def extract(stream: BinaryIO, dest: str) -> None:
    try:
        unpack(stream, dest)
    except ArchiveError as exc:
        raise LoadError(f"Error processing the image archive: {exc}") from None


def _read_json(path: str, what: str):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        raise LoadError(f"the archive has no {what}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(f"invalid JSON in {what}: {exc}") from None


def _inside(root: str, rel: str, what: str) -> str:
    if not isinstance(rel, str) or not rel:
        raise LoadError(f"{what}: missing path")
    path = os.path.realpath(os.path.join(root, rel))
    if not path.startswith(os.path.realpath(root) + "/"):
        raise LoadError(f"{what}: {rel!r} is outside the archive")
    if not os.path.isfile(path):
        raise LoadError(f"{what}: {rel} is missing from the archive")
    return path


def plan_load(root: str, known) -> LoadPlan:
    """Read an extracted archive. `known(id)` says whether the graph has an image."""
    legacy = [n for n in sorted(os.listdir(root))
              if _HEX64.match(n) and os.path.isfile(os.path.join(root, n, "json"))]
    if legacy:
        return _plan_legacy(root, legacy, known)
    if os.path.isfile(os.path.join(root, "manifest.json")):
        return _plan_manifest(root, known)
    raise LoadError("not an image archive: it has neither manifest.json nor layer directories "
                    "(<id>/json, <id>/layer.tar)")


def _order(records: dict[str, ImageRecord], known) -> list[str]:
    """Ids parent first; every parent must be in the archive or in the graph."""
    ordered: list[str] = []
    placed: set[str] = set()

    def place(image_id: str, path: tuple[str, ...]) -> None:
        if image_id in placed:
            return
        if image_id in path:
            raise LoadError(f"image {image_id[:12]} is its own ancestor")
        parent = records[image_id].parent
        if parent:
            if parent in records:
                place(parent, path + (image_id,))
            elif not known(parent):
                raise LoadError(f"image {image_id[:12]}: its parent {parent[:12]} is neither in the "
                                "archive nor in the graph")
        placed.add(image_id)
        ordered.append(image_id)
    for image_id in sorted(records):
        place(image_id, ())
    return ordered


def _plan_legacy(root: str, ids: list[str], known) -> LoadPlan:
    plan = LoadPlan()
    records: dict[str, ImageRecord] = {}
    for image_id in ids:
        where = f"{image_id}/json"
        record = record_from_v1(_read_json(os.path.join(root, image_id, "json"), where), where)
        if record.id != image_id:
            raise LoadError(f"{where}: its id {record.id[:12]} is not its directory's name")
        _inside(root, f"{image_id}/layer.tar", f"image {image_id[:12]}")
        records[image_id] = record
    _history_from_manifest(root, records)
    for image_id in _order(records, known):
        plan.layers.append(LayerPlan(records[image_id], os.path.join(root, image_id, "layer.tar")))
    repos_path = os.path.join(root, "repositories")
    if os.path.exists(repos_path):
        repos = _read_json(repos_path, "repositories")
        if not isinstance(repos, dict):
            raise LoadError("repositories: not a JSON object")
        for repo, tags in repos.items():
            if not isinstance(tags, dict):
                raise LoadError(f"repositories: {repo}: not a JSON object")
            for tag, image_id in tags.items():
                _add_tag(plan, repo, tag, image_id, records, known)
    plan.tops = [t[2] for t in plan.tags] or [i for i in records if not any(
        r.parent == i for r in records.values())]
    return plan


def _history_from_manifest(root: str, records: dict[str, ImageRecord]) -> None:
    """Docker 1.10+ writes bare `<id>/json` files for all but the top layer (no time, no
    command) and keeps that in the config's history: take it from there when present."""
    try:
        manifest = _read_json(os.path.join(root, "manifest.json"), "manifest.json")
    except LoadError:
        return  # optional here: the 1.2 layout does not need it
    for item in manifest if isinstance(manifest, list) else []:
        try:
            config = _read_json(_inside(root, item.get("Config"), "Config"), "config")
        except (LoadError, AttributeError):
            continue
        history = [h for h in (config.get("history") or []) if isinstance(h, dict)
                   and not h.get("empty_layer")] if isinstance(config, dict) else []
        for layer, info in zip(item.get("Layers") or [], history):
            record = records.get(str(layer).split("/", 1)[0])
            if record is None:
                continue
            created_by = info.get("created_by")
            if not record.container_config.cmd and isinstance(created_by, str) and created_by:
                record.container_config.cmd = [created_by]
            if record.created[:4] in ("", "0001", "1970") and isinstance(info.get("created"), str):
                record.created = info["created"]
            if not record.comment and isinstance(info.get("comment"), str):
                record.comment = info["comment"]


def _add_tag(plan: LoadPlan, repo: str, tag: str, image_id, records, known) -> None:
    if not isinstance(image_id, str) or (image_id not in records and not known(image_id)):
        raise LoadError(f"repositories: {repo}:{tag} names image {image_id!r}, which the archive does not hold")
    repository = reference.normalize(repo)
    try:
        reference.validate_repository(repository)
        reference.validate_tag(tag)
    except Exception as exc:
        raise LoadError(f"repositories: {repo}:{tag}: {getattr(exc, 'message', exc)}") from None
    plan.tags.append((repository, tag, image_id))


def _chain_id(parent_chain: str, diff_id: str) -> str:
    """The layer's chain id ("sha256:..."), as Docker and pyctr's pull compute it: a layer
    loaded here and the same layer pulled get the same id."""
    if not parent_chain:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent_chain} {diff_id}".encode()).hexdigest()


def _plan_manifest(root: str, known) -> LoadPlan:
    manifest = _read_json(os.path.join(root, "manifest.json"), "manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise LoadError("manifest.json: expected a non-empty list of images")
    plan = LoadPlan()
    records: dict[str, ImageRecord] = {}
    for n, item in enumerate(manifest):
        where = f"manifest.json entry {n}"
        if not isinstance(item, dict):
            raise LoadError(f"{where}: not an object")
        config_path = _inside(root, item.get("Config"), f"{where} Config")
        config = _read_json(config_path, item.get("Config"))
        layers = item.get("Layers")
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) else None
        if not isinstance(layers, list) or not isinstance(diff_ids, list) or len(layers) != len(diff_ids) or not layers:
            raise LoadError(f"{where}: Layers and the config's rootfs.diff_ids do not match")
        history = [h for h in config.get("history") or [] if isinstance(h, dict) and not h.get("empty_layer")]
        with open(config_path, "rb") as f:
            top_id = hashlib.sha256(f.read()).hexdigest()
        parent = chain = ""
        for i, (layer, diff_id) in enumerate(zip(layers, diff_ids)):
            if not isinstance(diff_id, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", diff_id):
                raise LoadError(f"{where}: invalid diff id {diff_id!r}")
            last = i == len(layers) - 1
            chain = _chain_id(chain, diff_id)
            image_id = top_id if last else chain.split(":", 1)[1]
            info = history[i] if i < len(history) else {}
            created_by = info.get("created_by") if isinstance(info.get("created_by"), str) else ""
            record = ImageRecord(
                id=image_id, parent=parent,
                created=str(info.get("created") or config.get("created") or ""),
                comment=str(info.get("comment") or ""), author=str(info.get("author") or ""),
                container_config=ContainerConfig(cmd=[created_by] if created_by else None))
            if last:
                record.config = _config(config.get("config"), f"{where} config")
                record.docker_version = str(config.get("docker_version") or "")
                record.architecture = str(config.get("architecture") or "amd64")
                record.os = str(config.get("os") or "linux")
                record.container = str(config.get("container") or "")
                record.author = str(config.get("author") or record.author)
            if image_id not in records and not known(image_id):
                records[image_id] = record
                plan.layers.append(LayerPlan(record, _inside(root, layer, f"{where} layer {i}"), diff_id))
            parent = image_id
        plan.tops.append(parent)
        for name in item.get("RepoTags") or []:
            if not isinstance(name, str):
                raise LoadError(f"{where}: RepoTags holds {name!r}")
            repo, tag = reference.split_tag(name)
            _add_tag(plan, repo, tag or reference.DEFAULT_TAG, parent, records, known)
    return plan


class DigestReader(io.RawIOBase):
    """Reads the decompressed layer and hashes it, to check the manifest's diff id."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        data = self._stream.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.digest.update(data)
        return n


def open_layer(plan: LayerPlan) -> tuple[BinaryIO, DigestReader | None]:
    raw = open(plan.tar_path, "rb")
    if not plan.diff_id:
        return raw, None
    checker = DigestReader(decompressed(raw))
    return io.BufferedReader(checker, CHUNK), checker
