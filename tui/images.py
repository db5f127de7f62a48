"""The images panel: the tree of layers from `GET /images/json?all=1` (what
`pyctr images --tree` prints), with tags on their nodes and the actions."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, Tree

from pyctr.engine.client.aio import Event
from pyctr.engine.client.errors import ClientError
from pyctr.engine.api.records import ImageSummary
from pyctr.engine.client.frontend.text import human_size, truncate_id

from .config import with_ids
from .dialogs import ConfirmScreen, InspectScreen, PullScreen, remove_tags_screen, tag_screen
from .imagetree import ImageNode, build_forest

IMAGE_EVENTS = {"untag", "delete", "tag", "import", "pull", "commit", "load"}
RELOAD_DELAY = 0.2


def node_label(node: ImageNode) -> Text:
    image = node.image
    # Separating spaces end the span before them: SVG renderers drop a span's leading blanks.
    label = Text(truncate_id(image.id) + " ", style="bold" if node.tags else "dim")
    label.append(f"{human_size(image.virtual_size)} ", style="cyan")
    if image.size and image.parent_id:
        label.append(f"(+{human_size(image.size)}) ", style="dim")
    for tag in node.tags:
        label.append(f"{tag}", style="reverse green")
        label.append(" ")
    return label


class ImagesView(Vertical):
    BINDINGS = with_ids("images", [
        Binding("d", "remove", "Remove"),
        Binding("g", "tag", "Tag"),
        Binding("n", "run", "Run…"),
        Binding("u", "pull", "Pull…"),
        Binding("i", "inspect", "Inspect"),
        Binding("a", "toggle_all", "Tagged/all"),
    ])

    def __init__(self) -> None:
        super().__init__(id="images-view", classes="panel")
        self.images: list[ImageSummary] = []
        self.forest: list[ImageNode] = []
        self.show_all = True
        self._reload: asyncio.TimerHandle | None = None

    def compose(self):
        yield Static("", classes="summary")
        tree: Tree[ImageNode] = Tree("images", id="image-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree

    @property
    def image_tree(self) -> Tree:
        return self.query_one("#image-tree", Tree)

    def load(self, images: list[ImageSummary]) -> None:
        self.images = images
        self.forest = build_forest(images)
        self.redraw()

    def redraw(self) -> None:
        tree = self.image_tree
        selected = tree.cursor_node.data.image.id if tree.cursor_node and tree.cursor_node.data else None
        tree.clear()
        cursor_line = None

        def add(parent, node: ImageNode) -> None:
            nonlocal cursor_line
            shown, children = node, node.children
            if not self.show_all and not node.tags:
                # tagged only: an untagged layer's children hang from its parent
                for child in node.children:
                    add(parent, child)
                return
            if children:
                branch = parent.add(node_label(shown), data=shown, expand=True)
                for child in children:
                    add(branch, child)
            else:
                branch = parent.add_leaf(node_label(shown), data=shown)
            if shown.image.id == selected:
                cursor_line = branch
        for root in self.forest:
            add(tree.root, root)
        tree.root.expand()
        if cursor_line is not None:
            self.call_after_refresh(lambda: tree.move_cursor(cursor_line))
        elif self.forest:
            self.call_after_refresh(lambda: setattr(tree, "cursor_line", 0))
        tagged = sum(1 for i in self.images if i.repo_tags and i.repo_tags[0] != "<none>:<none>")
        self.query_one(".summary", Static).update(
            f" {len(self.images)} layers · {tagged} tagged · "
            f"{'all layers' if self.show_all else 'tagged only'} · enter/space folds")

    def apply_event(self, event: Event) -> None:
        """Image events (and a container create, which may be of a new image) reload
        the list: one request, coalesced."""
        if event.type == "image" or event.status in IMAGE_EVENTS:
            if self._reload is None:
                self._reload = asyncio.get_running_loop().call_later(RELOAD_DELAY, self._do_reload)

    def _do_reload(self) -> None:
        self._reload = None
        self.reload()

    @work(exclusive=True, group="reload")
    async def reload(self) -> None:
        try:
            self.load(await self.app.client.images(all=True))
        except ClientError:
            pass   # the app's connection watch says what happened

    # --- actions --------------------------------------------------------------
    def selected(self) -> ImageNode | None:
        node = self.image_tree.cursor_node
        if node is None or node.data is None:
            self.app.notify("No image selected", severity="warning")
            return None
        return node.data

    @staticmethod
    def ref(node: ImageNode) -> str:
        return node.tags[0] if node.tags else truncate_id(node.image.id)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.redraw()

    def action_remove(self) -> None:
        node = self.selected()
        if node is None:
            return
        tags = [t for t in node.tags if t != "<none>:<none>"]
        if len(tags) > 1:
            def chosen(refs: list[str] | None) -> None:
                if refs:
                    self._remove(refs)
            self.app.push_screen(remove_tags_screen(truncate_id(node.image.id), tags), chosen)
            return
        ref = self.ref(node)

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove([ref])
        self.app.push_screen(ConfirmScreen(f"Remove image {ref}?"), answered)

    def _remove(self, refs: list[str]) -> None:
        """`rmi` each ref in turn, as `pyctr rmi A B C` does; the first failure stops."""
        async def remove() -> None:
            done: list[str] = []
            try:
                for ref in refs:
                    items = await self.app.client.remove_image(ref)
                    done += [f"Untagged: {i.untagged}" if i.untagged else f"Deleted: {i.deleted[:12]}"
                             for i in items]
            finally:
                if done:
                    self.app.notify("\n".join(done), title=f"rmi {' '.join(refs)}")
                self.reload()
        self.app.api_action(f"remove image {' '.join(refs)}", remove(), quiet=True)

    def action_tag(self) -> None:
        node = self.selected()
        if node is None:
            return

        def chosen(value: tuple[str, str] | None) -> None:
            if value:
                repo, tag = value
                self.app.api_action(f"tag {truncate_id(node.image.id)} {repo}:{tag or 'latest'}",
                                    self.app.client.tag(node.image.id, repo, tag))
        self.app.push_screen(tag_screen(self.ref(node)), chosen)

    def action_run(self) -> None:
        node = self.selected()
        if node is not None:
            self.app.action_run_form(self.ref(node))

    def action_pull(self) -> None:
        node = self.image_tree.cursor_node
        name = node.data.tags[0] if node and node.data and node.data.tags else ""
        self.app.push_screen(PullScreen(name), lambda pulled: pulled and self.reload())

    @work(group="inspect")
    async def action_inspect(self) -> None:
        node = self.selected()
        if node is None:
            return
        try:
            data = await self.app.client.inspect_image(node.image.id)
        except ClientError as exc:
            self.app.notify(str(exc), title="inspect", severity="error")
            return
        await self.app.push_screen(InspectScreen(f"image {self.ref(node)}", data))
