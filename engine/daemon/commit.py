"""`commit`: a container's changes (its rw layer against its init layer) become an image
whose parent is the container's image. A running container is frozen meanwhile, as
Docker does, so the layer is a consistent snapshot and no process in it can race the
read out of its filesystem; `pause=false` on a running container is refused for that."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..builder.config_steps import apply_changes
from ..crashpoint import crash_point
from ..errors import BadRequest
from ..graph import reference
from ..graph.graph import new_id, now_rfc3339
from ..graph.image_record import ImageRecord
from ..api.config import ContainerConfig
from ..jobs import Job, JobArgs
from .container import Container
from .create import init_layer_id, merge_image_config
from ..api.records import ImageCommitted
from .frozen import frozen_for_reading

if TYPE_CHECKING:
    from .daemon import Daemon


@dataclass
class CommitArgs(JobArgs["ImageCommitted"]):
    job: ClassVar[str] = "container_commit"

    container: str
    repository: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    config: ContainerConfig | None = None              # the body (`--run`)
    changes: list[str] = field(default_factory=list)   # Dockerfile instructions (`--change`)


def _version() -> str:
    from .. import __version__
    return __version__


def image_config(container: Container, given: ContainerConfig | None,
                 changes: list[str]) -> ContainerConfig:
    """Docker 1.2's runconfig.Merge of the given config over the container's, then
    the `--change` instructions applied on top."""
    config = copy.deepcopy(given) if given is not None else ContainerConfig()
    merge_image_config(config, copy.deepcopy(container.record.config))
    config.hostname = config.hostname or container.record.config.hostname
    config.image = config.image or container.record.config.image
    if changes:
        apply_changes(config, changes)
    return config


async def commit(daemon: Daemon, container: Container, *, config: ContainerConfig,
                 container_config: ContainerConfig | None = None, comment: str = "",
                 author: str = "", pause: bool = True) -> ImageRecord:
    """Register the container's changes as a new image (no tag)."""
    from ..builder.iterio import reader
    record = ImageRecord(
        id=new_id(), parent=container.record.image, comment=comment, created=now_rfc3339(),
        container=container.id,
        container_config=copy.deepcopy(container_config or container.record.config),
        docker_version=_version(), author=author, config=config)
    driver = daemon.graph.driver
    if not pause and container.running and not container.record.state.paused:
        # A live layer read on the host can be raced out of the container (a directory
        # swapped for a symlink to `/` between the walker's lstat and its listdir).
        raise BadRequest("pause=false: pyctr reads a running container's layer only with the "
                         "container frozen, so that no process in it can lead the read to host "
                         "files; commit with pause=true (the default) or stop the container")
    async with frozen_for_reading(daemon, container):
        stream = reader(driver.diff(container.id, init_layer_id(container.id)))
        try:
            await daemon.graph.register(record, stream)
        finally:
            stream.close()
    return record


async def container_commit(daemon: Daemon, job: Job[CommitArgs]) -> ImageCommitted:
    args = job.args
    container = daemon.lookup(args.container)
    if args.repository:  # checked before any work: a bad name must store nothing
        reference.validate_repository(reference.normalize(args.repository))
        reference.validate_tag(args.tag or reference.DEFAULT_TAG)
    elif args.tag:
        raise BadRequest("a tag needs a repository name")
    try:
        config = image_config(container, args.config, args.changes)
    except ValueError as exc:
        raise BadRequest(f"invalid change: {exc}") from None
    async with daemon.graph.journal("commit"):
        image = await commit(daemon, container, config=config, comment=args.comment,
                             author=args.author, pause=args.pause)
        crash_point("commit-before-tag")
        if args.repository:
            daemon.graph.tag(image.id, args.repository, args.tag, force=True)
    daemon.container_event(container, "commit")
    return ImageCommitted(image.id)
