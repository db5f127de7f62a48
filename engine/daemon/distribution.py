"""`GET /distribution/(name)/json` (API 1.30): what a registry holds under a name,
without pulling it: the manifest's descriptor and the platforms it serves (a list's
entries, or a single image's config)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..errors import BadRequest
from ..graph import reference
from ..jobs import Job, JobArgs
from ..registry import manifest
from ..registry.auth import Credentials
from ..registry.client import RegistryClient, new_session
from ..registry.endpoints import repository_info
from ..registry.errors import RegistryError
from .registry_jobs import registry_config

if TYPE_CHECKING:
    from .daemon import Daemon

CONFIG_LIMIT = 8 << 20   # an image config larger than this is not one


@dataclass
class DistributionInspect(JobArgs["DistributionInfo"]):
    job: ClassVar[str] = "distribution_inspect"

    name: str                        # repo[:tag] or repo@sha256:...
    credentials: Credentials = field(default_factory=Credentials)


@dataclass
class DistributionInfo:
    media_type: str
    digest: str
    size: int
    platforms: list[dict] = field(default_factory=list)


def _platform(data: dict) -> dict:
    keys = (("architecture", "architecture"), ("os", "os"), ("os.version", "os.version"),
            ("os.features", "os.features"), ("variant", "variant"), ("features", "features"))
    return {out: data[key] for key, out in keys if data.get(key)}


async def distribution_inspect(daemon: Daemon, job: Job[DistributionInspect]) -> DistributionInfo:
    args = job.args
    name, ref = args.name, ""
    if "@" in name:
        name, ref = name.split("@", 1)
        if not reference._DIGEST.match(ref):
            raise BadRequest(f"invalid digest format: {ref}")
    else:
        name, ref = reference.split_tag(name)
        ref = ref or reference.DEFAULT_TAG
        reference.validate_tag(ref)
    info = repository_info(name)
    config = registry_config(daemon)
    config.require_registry(info.index, f"{info.local_name}@{ref}" if ref.startswith("sha256:")
                            else f"{info.local_name}:{ref}")
    async with new_session() as session:
        client = RegistryClient(session, config, info.index, args.credentials, info.remote_name, "pull")
        await client.authorize()
        ctype, raw, digest = await client.get_manifest(ref)
        parsed = manifest.parse(ctype, raw)
        if isinstance(parsed, manifest.ManifestList):
            platforms = [_platform(p) for _, p in parsed.entries]
        elif parsed.config_json:     # schema 1: its config is in the manifest
            platforms = [_platform(json.loads(parsed.config_json))]
        else:
            assert parsed.config is not None
            resp = await client.open_blob(parsed.config.digest)
            async with resp:
                body = await resp.content.read(CONFIG_LIMIT + 1)
            if len(body) > CONFIG_LIMIT or manifest.sha256_digest(body) != parsed.config.digest:
                raise RegistryError(f"image config {parsed.config.digest} does not match its digest")
            try:
                platforms = [_platform(json.loads(body))]
            except (ValueError, AttributeError):
                raise RegistryError(f"image config {parsed.config.digest} is not JSON") from None
    return DistributionInfo(parsed.media_type, digest, len(raw), platforms)
