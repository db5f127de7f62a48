"""The image forest of `GET /images/json?all=1` (ParentId links), as `pyctr images
--tree` draws it: roots and children in the API's order, one label per node.

`shell/render.images_tree` draws the forest as text in one pass; the TUI needs
the forest itself (to fill a Tree widget and to find a node again), so this
module builds it with the same rules and the same node wording, and can draw it
back as text (`lines`) — which the tests compare with `pyctr images --tree`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from pyctr.engine.client.models import ImageSummary
from pyctr.engine.client.frontend.text import human_size, truncate_id


@dataclass
class ImageNode:
    image: ImageSummary
    children: list["ImageNode"] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [t for t in self.image.repo_tags if t != "<none>:<none>"]

    def label(self, no_trunc: bool = False) -> str:
        """The text of the node in `images --tree` (without the branch drawing)."""
        iid = self.image.id if no_trunc else truncate_id(self.image.id)
        line = f"{iid} Virtual Size: {human_size(self.image.virtual_size)}"
        if self.image.repo_tags and self.image.repo_tags[0] != "<none>:<none>":
            line += f" Tags: {', '.join(self.image.repo_tags)}"
        return line

    def walk(self) -> Iterator["ImageNode"]:
        yield self
        for child in self.children:
            yield from child.walk()


def build_forest(images: Sequence[ImageSummary]) -> list[ImageNode]:
    """Roots in API order, each with its children in API order. An image whose
    parent is not in the list is a root here: `images --tree` would not show it
    at all, but a user of the TUI should still see it."""
    nodes = {image.id: ImageNode(image) for image in images}
    roots: list[ImageNode] = []
    for image in images:
        parent = nodes.get(image.parent_id) if image.parent_id else None
        if parent is not None:
            parent.children.append(nodes[image.id])
        elif not image.parent_id:
            roots.append(nodes[image.id])
    orphans = [nodes[i.id] for i in images if i.parent_id and i.parent_id not in nodes]
    return roots + orphans


def lines(roots: Sequence[ImageNode], no_trunc: bool = False) -> list[str]:
    """The forest drawn as `pyctr images --tree` draws it."""
    out: list[str] = []

    def draw(level: Sequence[ImageNode], prefix: str) -> None:
        for index, node in enumerate(level):
            last = index + 1 == len(level)
            out.append(prefix + ("└─" if last else "├─") + node.label(no_trunc))
            draw(node.children, prefix + ("  " if last else "│ "))

    draw(roots, "")
    return out
