"""The build cache, keyed as Docker 1.2's: a step may reuse a child of the current image
whose container config (the full config with Cmd set to the step's command; for
ADD/COPY that command names the sources' content checksums) equals the step's."""

from __future__ import annotations

from ..api.codec import to_api
from ..api.config import ContainerConfig


def _key(config: ContainerConfig) -> dict:
    data = to_api(config)
    data.pop("Hostname", None)  # differs per container; never part of the key
    data.pop("Image", None)     # the parent is the key's other half
    return data


def lookup(graph, parent: str, container_config: ContainerConfig) -> str | None:
    """The id of the newest child of `parent` made by this step, or None."""
    want = _key(container_config)
    best: tuple[str, str] | None = None
    for child in graph.children(parent):
        record = graph.db.image(child)
        if record is None or _key(record.container_config) != want:
            continue
        if best is None or record.created > best[0]:
            best = (record.created, record.id)
    return best[1] if best else None
