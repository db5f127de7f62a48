"""The build cache, keyed as Docker's classic builder keys it: a step may reuse a child
of the current image whose container config (the full config with Cmd set to the
step's command: for RUN the build args it sees as `|N A=1 ...` before the command, for
ADD/COPY the sources' checksums, names and modes, and --chown) equals the step's.
With --cache-from only images among the named ones and their parents count."""

from __future__ import annotations

from ..api.codec import to_api
from ..api.config import ContainerConfig


def _key(config: ContainerConfig) -> dict:
    data = to_api(config)
    data.pop("Hostname", None)  # differs per container; never part of the key
    data.pop("Image", None)     # the parent is the key's other half
    return data


def lookup(graph, parent: str, container_config: ContainerConfig,
           allowed: set[str] | None = None) -> str | None:
    """The id of the newest child of `parent` made by this step, or None."""
    want = _key(container_config)
    best: tuple[str, str] | None = None
    # FROM scratch: the candidates are the images without a parent
    children = graph.children(parent) if parent else [row.id for row in graph.rows() if not row.parent]
    for child in children:
        if allowed is not None and child not in allowed:
            continue
        record = graph.db.image(child)
        if record is None or _key(record.container_config) != want:
            continue
        if best is None or record.created > best[0]:
            best = (record.created, record.id)
    return best[1] if best else None
