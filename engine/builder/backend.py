"""What the builder needs from the engine it builds on: the image graph, and a few
container verbs. The daemon implements it (daemon/build.py); the builder never
imports the daemon."""

from __future__ import annotations

from typing import Awaitable, Callable, Protocol

from ..graph.graph import Graph
from ..libcontainer.inroot_client import InRoot
from ..jobs import Output
from ..api.config import ContainerConfig, HostConfig

OutputSink = Callable[[str, bytes], Awaitable[None]]   # (stream name, data) of a running step


class Backend(Protocol):
    @property
    def graph(self) -> Graph: ...

    @property
    def inroot(self) -> InRoot:
        """The confined-filesystem helper: ADD/COPY write into a container's filesystem
        only through it."""

    async def pull_image(self, repository: str, tag: str, progress: Output) -> None:
        """Pull repository:tag (or @digest), writing the pull's JSON progress to `progress`."""

    async def create_container(self, config: ContainerConfig, host_config: HostConfig) -> str:
        """A new container of `config.image`, not started; its id. `host_config`: the
        build's resources and network for its RUN steps."""

    async def run_container(self, container_id: str, output: OutputSink) -> int:
        """Start the container, hand its output to `output` until it exits; its exit code."""

    async def commit_container(self, container_id: str, *, config: ContainerConfig,
                               container_config: ContainerConfig, author: str) -> str:
        """Register the container's changes as a new image with `config`; the image's id."""

    async def remove_container(self, container_id: str) -> bool:
        """Remove the container (stopping it first); False if it was gone already."""
