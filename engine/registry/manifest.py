"""Image manifests as registries serve them, parsed into one shape.

- Docker schema 2 and the OCI image manifest: a config blob and a list of layer blobs.
- Docker manifest lists and OCI indexes: one manifest per platform; pyctr runs
  linux/amd64 and picks that entry.
- Docker schema 1 (signed, read-only): layers newest first with the v1 JSON of each;
  turned into the same shape with a synthesized config (so the image id is the
  digest of that config, stable across pulls).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .errors import NoMatchingPlatform, RegistryError

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
FOREIGN_LAYERS = ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
LAYER_TYPES = (DOCKER_LAYER, OCI_LAYER_GZIP, OCI_LAYER, *FOREIGN_LAYERS)

ACCEPT = ", ".join([DOCKER_V2, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, DOCKER_V1_SIGNED, DOCKER_V1])
LISTS = (DOCKER_LIST, OCI_INDEX)

PLATFORM_OS = "linux"
PLATFORM_ARCH = "amd64"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.digest.split(":", 1)[-1][:12]


@dataclass
class ImageManifest:
    """A single-platform image: the config blob (or, for schema 1, the config itself)."""
    media_type: str
    config: Descriptor | None
    layers: list[Descriptor]
    config_json: bytes = b""      # set for schema 1 (synthesized), else fetched by digest


@dataclass
class ManifestList:
    media_type: str
    entries: list[tuple[Descriptor, dict]] = field(default_factory=list)  # (manifest, platform)

    def pick(self, os_name: str = PLATFORM_OS, arch: str = PLATFORM_ARCH) -> Descriptor:
        found = [d for d, p in self.entries if p.get("os") == os_name and p.get("architecture") == arch]
        if not found:
            have = ", ".join(sorted({f"{p.get('os')}/{p.get('architecture')}" for _, p in self.entries}))
            raise NoMatchingPlatform(f"no matching manifest for {os_name}/{arch} in the manifest "
                                     f"list entries (the image has: {have or 'none'})")
        # prefer the plain variant (amd64 has none, but v2/v3 variants exist today)
        return sorted(found, key=lambda d: 0 if not dict(self.entries)[d].get("variant") else 1)[0]


def _descriptor(data: object, what: str) -> Descriptor:
    if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
        raise RegistryError(f"invalid manifest: bad {what} descriptor")
    digest = data["digest"]
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise RegistryError(f"invalid manifest: unsupported digest {digest!r} in {what}")
    return Descriptor(str(data.get("mediaType") or ""), digest, int(data.get("size") or 0),
                      tuple(data.get("urls") or ()))


def media_type_of(content_type: str, body: dict) -> str:
    """The manifest's own mediaType wins; else the Content-Type; else sniff the shape."""
    if isinstance(body.get("mediaType"), str) and body["mediaType"]:
        return body["mediaType"]
    ctype = content_type.split(";", 1)[0].strip()
    if ctype in (DOCKER_V2, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, DOCKER_V1, DOCKER_V1_SIGNED):
        return ctype
    if body.get("schemaVersion") == 1:
        return DOCKER_V1_SIGNED
    if "manifests" in body:
        return OCI_INDEX
    return OCI_MANIFEST


def parse(content_type: str, raw: bytes) -> ImageManifest | ManifestList:
    try:
        body = json.loads(raw)
    except ValueError:
        raise RegistryError("invalid manifest: not JSON") from None
    if not isinstance(body, dict):
        raise RegistryError("invalid manifest: not a JSON object")
    kind = media_type_of(content_type, body)
    if kind in LISTS:
        entries = []
        for item in body.get("manifests") or []:
            entries.append((_descriptor(item, "manifest"), dict(item.get("platform") or {})))
        return ManifestList(kind, entries)
    if kind in (DOCKER_V2, OCI_MANIFEST):
        layers = [_descriptor(item, "layer") for item in body.get("layers") or []]
        for layer in layers:
            if layer.media_type and layer.media_type not in LAYER_TYPES:
                raise RegistryError(f"unsupported layer type {layer.media_type} ({layer.digest})")
        return ImageManifest(kind, _descriptor(body.get("config"), "config"), layers)
    if kind in (DOCKER_V1, DOCKER_V1_SIGNED):
        return _schema1(body)
    raise RegistryError(f"unsupported manifest type {kind!r}")


def _schema1(body: dict) -> ImageManifest:
    """Schema 1 lists layers newest first, each with the v1 image JSON of that step.
    v1 layers marked `throwaway` hold no content and are skipped (as Docker does)."""
    fs_layers = body.get("fsLayers") or []
    history = body.get("history") or []
    if not fs_layers or len(fs_layers) != len(history):
        raise RegistryError("invalid schema 1 manifest: fsLayers and history do not match")
    v1 = []
    for item in history:
        try:
            v1.append(json.loads(item.get("v1Compatibility") or "{}"))
        except (ValueError, AttributeError):
            raise RegistryError("invalid schema 1 manifest: bad v1Compatibility") from None
    layers: list[Descriptor] = []
    steps: list[dict] = []
    for fs, info in zip(reversed(fs_layers), reversed(v1)):
        cmd = ((info.get("container_config") or {}).get("Cmd")) or []
        step = {"created": info.get("created", ""), "created_by": " ".join(cmd)}
        if info.get("comment"):
            step["comment"] = info["comment"]
        if info.get("throwaway"):
            step["empty_layer"] = True
        else:
            layers.append(_descriptor({"digest": fs.get("blobSum"), "mediaType": DOCKER_LAYER}, "layer"))
        steps.append(step)
    top = dict(v1[0])
    for key in ("id", "parent", "Size", "parent_id", "layer_id", "throwaway"):
        top.pop(key, None)
    top["history"] = steps
    # diff_ids are only known after download; the puller fills rootfs then.
    top["rootfs"] = {"type": "layers", "diff_ids": []}
    return ImageManifest(DOCKER_V1_SIGNED, None, layers,
                         config_json=json.dumps(top, sort_keys=True).encode())


def schema2(config: Descriptor, layers: list[Descriptor]) -> bytes:
    """A Docker schema 2 manifest (what push sends), canonical-ish JSON."""
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_V2,
        "config": {"mediaType": DOCKER_CONFIG, "size": config.size, "digest": config.digest},
        "layers": [{"mediaType": DOCKER_LAYER, "size": l.size, "digest": l.digest} for l in layers],
    }
    return json.dumps(doc, indent=3).encode()
