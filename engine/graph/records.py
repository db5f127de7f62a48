"""An image as the graph stores it and the API shows it (v1.14 `GET /images/(name)/json`)."""

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
