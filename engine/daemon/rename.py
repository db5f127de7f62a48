"""`rename` (API 1.17): a container's new unique name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Conflict
from ..jobs import Job
from .args import ContainerRename
from .names import validate

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_rename(daemon: Daemon, job: Job[ContainerRename]) -> None:
    """`rename` (API 1.17): a new unique name; links to the container keep working,
    since the graph DB's link edges hold ids."""
    args = job.args
    container = daemon.lookup(args.name)
    new = validate(args.new_name)
    owner = daemon.graph.db.name_taken(new)
    if owner and owner != container.id:
        raise Conflict(f"Conflict. The name \"{new}\" is already in use by container {owner[:12]}. "
                       "You have to delete (or rename) that container to be able to reuse that name.")
    old = container.record.name
    container.record.name = new
    daemon.save(container)
    daemon.container_event(container, "rename", oldName=old)
