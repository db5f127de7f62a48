"""`ps --format` and `images --format`: the docker CLI 28's rows (its container and
image formatter contexts: field names, units, truncation), from v1.41 records."""

from __future__ import annotations

import json
import time
from datetime import datetime

from pyctr.engine.client.frontend.text import human_duration, truncate_id

from .listformat import label_of
from .prune import go_size

PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
              "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
              "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
              "LocalVolumes": "LOCAL VOLUMES"}
PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

IMAGE_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
                 "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}
IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def go_unix_time(seconds: int) -> str:
    """time.Unix(s, 0).String() in local time: "2026-12-02 05:01:43 +0000 UTC"."""
    stamp = datetime.fromtimestamp(seconds).astimezone()
    return stamp.strftime("%Y-%m-%d %H:%M:%S %z ") + (stamp.tzname() or "")


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def since(created: int, now: float) -> str:
    # today's go-units says "1 second" where Docker 1.2's said "1 seconds"
    seconds = now - created
    return ("1 second" if int(seconds) == 1 else human_duration(seconds)) + " ago"


def _ports(ports: list[dict]) -> str:
    shown = []
    for port in sorted(ports, key=lambda p: (p.get("PublicPort") or 0, p.get("PrivatePort") or 0)):
        kind = port.get("Type", "tcp")
        if port.get("IP") is not None and port.get("PublicPort"):
            host = port["IP"]
            host = f"[{host}]" if ":" in host and host != "::" else host
            shown.append(f"{host}:{port['PublicPort']}->{port.get('PrivatePort')}/{kind}")
        else:
            shown.append(f"{port.get('PrivatePort')}/{kind}")
    return ", ".join(shown)


def container_row(c: dict, trunc: bool, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    names = [n[1:] if n.startswith("/") else n for n in c.get("Names") or []]
    if not trunc:
        plain = [n for n in names if "/" not in n]
        names = plain[:1] or names
    image = str(c.get("Image", ""))
    if trunc and image.startswith("sha256:"):
        image = truncate_id(image[len("sha256:"):])
    command = str(c.get("Command", ""))
    mounts = []
    for m in c.get("Mounts") or []:
        name = m.get("Name") or m.get("Source", "")
        mounts.append(ellipsis(name, 15) if trunc else name)
    size_rw, size_root = int(c.get("SizeRw") or 0), int(c.get("SizeRootFs") or 0)
    size = go_size(size_rw, 3)
    if size_root > 0:
        size = f"{size} (virtual {go_size(size_root, 3)})"
    networks = sorted(((c.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    return {"ID": truncate_id(c.get("Id", "")) if trunc else c.get("Id", ""), "Image": image,
            "Command": json.dumps(ellipsis(command, 20) if trunc else command, ensure_ascii=False),
            "CreatedAt": go_unix_time(int(c.get("Created") or 0)), "RunningFor": since(int(c.get("Created") or 0), now),
            "Ports": _ports(c.get("Ports") or []), "State": str(c.get("State", "")), "Status": str(c.get("Status", "")),
            "Size": size, "Names": ",".join(names),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted((c.get("Labels") or {}).items())),
            "Mounts": ",".join(mounts), "Networks": ",".join(networks),
            "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")),
            "Platform": None, "Label": label_of(c.get("Labels"))}  # API 1.46's ImageManifestDescriptor; docker 28 shows null at 1.41


def split_reference(reference: str) -> tuple[str, str]:
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, ""
    return name, tag


def image_fields(image: dict, trunc: bool, now: float | None = None) -> dict:
    """The fields of docker's image context but Repository, Tag and Digest."""
    now = time.time() if now is None else now
    image_id = str(image.get("Id", ""))
    created = int(image.get("Created") or 0)
    size, shared = int(image.get("Size") or 0), int(image.get("SharedSize", -1) if "SharedSize" in image else -1)
    containers = int(image.get("Containers", -1) if "Containers" in image else -1)
    return {"ID": truncate_id(image_id.split(":", 1)[-1]) if trunc else image_id,
            "CreatedSince": since(created, now), "CreatedAt": go_unix_time(created),
            "Size": go_size(size, 3), "Containers": "N/A" if containers == -1 else str(containers),
            "VirtualSize": go_size(int(image.get("VirtualSize") or size)),
            "SharedSize": "N/A" if shared == -1 else go_size(shared),
            "UniqueSize": "N/A" if shared == -1 else go_size(size - shared)}  # docker's images have no .Label


def image_rows(image: dict, trunc: bool, digests: bool, now: float | None = None) -> list[dict]:
    """One row a repository:tag (and a digest, with --digests), as docker expands them."""
    common = image_fields(image, trunc, now)
    tags: dict[str, list[str]] = {}
    for ref in image.get("RepoTags") or []:
        if ref == "<none>:<none>":
            continue
        repo, tag = split_reference(ref)
        tags.setdefault(repo, []).append(tag)
    by_repo: dict[str, list[str]] = {}
    for ref in image.get("RepoDigests") or []:
        if ref == "<none>@<none>":
            continue
        repo, _, digest = ref.partition("@")
        by_repo.setdefault(repo, []).append(digest)
    rows = []
    for repo, repo_tags in tags.items():
        repo_digests = by_repo.pop(repo, []) if digests else (by_repo.pop(repo, None) and [])
        for tag in repo_tags:
            for digest in repo_digests or ["<none>"]:
                rows.append({**common, "Repository": repo, "Tag": tag, "Digest": digest})
    for repo, repo_digests in by_repo.items():
        for digest in repo_digests:
            rows.append({**common, "Repository": repo, "Tag": "<none>", "Digest": digest})
    if not rows:
        rows.append({**common, "Repository": "<none>", "Tag": "<none>", "Digest": "<none>"})
    return rows
