"""The image config blob (Docker's image JSON / OCI config) and the graph's records.

A pulled image becomes one graph image per layer: layer i is named by its chain id
(chain(0) = diff_id(0); chain(i) = sha256(chain(i-1) + " " + diff_id(i))), except
the top one, which is named by the config digest: that is the image id Docker
shows. The history entries that made each layer describe it (`history`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..api.codec import from_api, to_api
from ..graph.image_record import ImageRecord
from ..api.config import ContainerConfig
from .errors import RegistryError


@dataclass(frozen=True)
class ImageConfig:
    raw: bytes
    data: dict

    @property
    def diff_ids(self) -> list[str]:
        return list((self.data.get("rootfs") or {}).get("diff_ids") or [])

    @property
    def platform(self) -> tuple[str, str]:
        return str(self.data.get("os") or ""), str(self.data.get("architecture") or "")


def parse(raw: bytes) -> ImageConfig:
    try:
        data = json.loads(raw)
    except ValueError:
        raise RegistryError("invalid image config: not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError("invalid image config: not a JSON object")
    for diff_id in (data.get("rootfs") or {}).get("diff_ids") or []:
        if not isinstance(diff_id, str) or not diff_id.startswith("sha256:") or len(diff_id) != 71:
            raise RegistryError(f"invalid image config: bad diff id {diff_id!r}")
    return ImageConfig(raw, data)


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


def _layer_history(config: dict) -> list[dict]:
    """The history entries that made a layer (empty_layer ones are folded into the next)."""
    entries = [h for h in config.get("history") or [] if isinstance(h, dict)]
    return [h for h in entries if not h.get("empty_layer")]


def _container_config(value: object) -> ContainerConfig | None:
    if not isinstance(value, dict):
        return None
    try:
        return from_api(ContainerConfig, value)
    except (ValueError, TypeError):
        return None


def records(config: ImageConfig, image_id: str, layer_ids: list[str]) -> list[ImageRecord]:
    """Graph records, oldest first, for `layer_ids` (the top one is `image_id`)."""
    data = config.data
    history = _layer_history(data)
    out: list[ImageRecord] = []
    parent = ""
    for i, layer_id in enumerate(layer_ids):
        step = history[i] if i < len(history) else {}
        created_by = str(step.get("created_by") or "")
        record = ImageRecord(
            id=layer_id, parent=parent,
            created=str(step.get("created") or data.get("created") or ""),
            comment=str(step.get("comment") or ""), author=str(step.get("author") or ""),
            container_config=ContainerConfig(cmd=[created_by] if created_by else None),
            architecture=str(data.get("architecture") or "amd64"), os=str(data.get("os") or "linux"))
        out.append(record)
        parent = layer_id
    if not out:  # an image without layers: just the config
        out.append(ImageRecord(id=image_id))
    top = out[-1]
    top.id = image_id
    top.created = str(data.get("created") or top.created)
    top.container = str(data.get("container") or "")
    top.docker_version = str(data.get("docker_version") or "")
    top.author = str(data.get("author") or top.author)
    top.config = _container_config(data.get("config"))
    top.container_config = _container_config(data.get("container_config")) or top.container_config
    if not top.container_config.cmd and history:
        created_by = str(history[-1].get("created_by") or "")
        top.container_config.cmd = [created_by] if created_by else None
    return out


def from_records(chain: list[ImageRecord], diff_ids: list[str]) -> bytes:
    """An image config for a locally made image (oldest record first), for push."""
    top = chain[-1]
    history = []
    for record in chain:
        cmd = record.container_config.cmd if record.container_config else None
        entry = {"created": record.created, "created_by": " ".join(cmd or [])}
        if record.comment:
            entry["comment"] = record.comment
        history.append(entry)
    data = {
        "architecture": top.architecture or "amd64",
        "os": top.os or "linux",
        "created": top.created,
        "docker_version": top.docker_version,
        "author": top.author,
        "config": to_api(top.config) if top.config else {},
        "container": top.container,
        "container_config": to_api(top.container_config),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
