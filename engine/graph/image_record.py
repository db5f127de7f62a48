"""An image as the graph stores it and the API shows it (v1.14 `GET /images/(name)/json`),
and that record with what the graph derives (ImageDetails, what image inspect returns)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..api.config import ContainerConfig


@dataclass
class ImageRecord:
    id: str
    parent: str = ""
    comment: str = ""
    created: str = ""              # RFC 3339, UTC
    container: str = ""            # the container it was committed from
    container_config: ContainerConfig = field(default_factory=ContainerConfig)
    docker_version: str = ""
    author: str = ""
    config: ContainerConfig | None = None
    architecture: str = "amd64"
    os: str = "linux"
    size: int = 0                  # bytes this layer adds


@dataclass
class ImageDetails:
    """`GET /images/(name)/json`: the stored record plus what the graph derives."""
    record: ImageRecord
    virtual_size: int
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
