"""The daemon as the builder's Backend (builder/backend.py): the container verbs a
build step uses, run straight on the daemon (the build is the one job the trace
shows, as before)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import NotFound
from ..graph.graph import Graph
from ..jobs import Job, Output
from ..libcontainer.inroot_client import InRoot
from ..api.config import ContainerConfig, HostConfig
from . import commit, create, pull, remove, start
from .args import ContainerCreate, ContainerRemove
from .registry_jobs import RegistryPull

if TYPE_CHECKING:
    from ..builder.backend import OutputSink
    from .daemon import Daemon


class DaemonBuilderBackend:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    @property
    def graph(self) -> Graph:
        return self.daemon.graph

    @property
    def inroot(self) -> InRoot:
        return self.daemon.inroot

    async def pull_image(self, repository: str, tag: str, progress: Output) -> None:
        args = RegistryPull(repository, tag)
        await pull.image_pull(self.daemon, Job(args.job, args, out=progress))

    async def create_container(self, config: ContainerConfig, host_config: HostConfig) -> str:
        args = ContainerCreate(config, host_config)
        created = await create.container_create(self.daemon, Job(args.job, args))
        return created.id

    async def run_container(self, container_id: str, output: OutputSink) -> int:
        container = self.daemon.containers[container_id]
        queue = container.output.subscribe()
        try:
            await start.start(self.daemon, container)
        except BaseException:
            container.output.unsubscribe(queue)
            raise
        while (item := await queue.get()) is not None:
            await output(*item)
        await container.stopped.wait()
        if container.monitor is not None:
            await asyncio.shield(container.monitor)
        return container.record.state.exit_code

    async def commit_container(self, container_id: str, *, config: ContainerConfig,
                               container_config: ContainerConfig, author: str) -> str:
        record = await commit.commit(self.daemon, self.daemon.containers[container_id], config=config,
                                     container_config=container_config, author=author, pause=False)
        return record.id

    async def remove_container(self, container_id: str) -> bool:
        args = ContainerRemove(container_id, force=True)
        try:
            await remove.container_remove(self.daemon, Job(args.job, args))
        except NotFound:
            return False
        return True
