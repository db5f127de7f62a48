"""Modal screens: confirm, kill signal, tag, run form, pull progress, inspect,
top and help."""

from __future__ import annotations

import json

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (Button, Checkbox, DataTable, Input, Label, OptionList, ProgressBar,
                             Static, Tree)
from textual.widgets.option_list import Option

from pyctr.engine.client.errors import ClientError

from .runform import FormError, RunRequest, split_list

SIGNALS = ["KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT", "WINCH"]


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog")
        self.question = question

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class SignalScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, container: str) -> None:
        super().__init__(classes="dialog")
        self.container = container

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Label(f"Send which signal to {self.container}?")
            yield OptionList(*[Option(f"SIG{s}", id=s) for s in SIGNALS])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TagScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, image: str) -> None:
        super().__init__(classes="dialog")
        self.image = image

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Label(f"Tag {self.image} as REPOSITORY[:TAG]")
            yield Input(placeholder="myrepo:mytag", id="tag")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        repo, tag = value, ""
        if ":" in value.rsplit("/", 1)[-1]:
            repo, tag = value.rsplit(":", 1)
        self.dismiss((repo, tag))

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunScreen(ModalScreen[RunRequest | None]):
    """`pyctr run` as a form; checked with the CLI's own rules before it closes."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Run")]

    def __init__(self, image: str = "") -> None:
        super().__init__(classes="dialog")
        self.image = image

    def compose(self):
        fields = [("image", "Image", self.image, "busybox"), ("name", "Name", "", "optional"),
                  ("command", "Command", "", "sh -c 'echo hi'"),
                  ("env", "Env", "", "KEY=value, ..."), ("ports", "Ports", "", "8080:80, ..."),
                  ("volumes", "Volumes", "", "/host:/ctr[:ro], /anon, ...")]
        with VerticalScroll(classes="dialog-box run-form"):
            yield Label("Run a container — pyctr run", classes="title")
            for wid, label, value, hint in fields:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value, placeholder=hint, id=wid, compact=True)
            with Horizontal(classes="checks"):
                yield Checkbox("-it (interactive + TTY)", id="it", compact=True)
                yield Checkbox("-d (detach)", True, id="detach", compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Run ^S", id="run", variant="primary", compact=True)
                yield Button("Cancel Esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#name" if self.image else "#image", Input).focus()

    def request(self) -> RunRequest:
        value = lambda wid: self.query_one(f"#{wid}", Input).value  # noqa: E731
        return RunRequest(image=value("image").strip(), name=value("name").strip(),
                          command=value("command"), env=split_list(value("env")),
                          ports=split_list(value("ports")), volumes=split_list(value("volumes")),
                          interactive_tty=self.query_one("#it", Checkbox).value,
                          detach=self.query_one("#detach", Checkbox).value)

    def action_submit(self) -> None:
        try:
            request = self.request()
            request.spec()
        except FormError as exc:
            self.query_one("#error", Static).update(Text(str(exc), style="bold red"))
            return
        self.dismiss(request)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PullScreen(ModalScreen[bool]):
    """`POST /images/create?fromImage=`: one progress bar per layer."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, image: str = "") -> None:
        super().__init__(classes="dialog")
        self.image = image
        self.bars: dict[str, ProgressBar] = {}
        self.done = False

    def compose(self):
        with VerticalScroll(classes="dialog-box pull"):
            yield Label("Pull an image: NAME[:TAG]")
            yield Input(self.image, placeholder="busybox:latest", id="image")
            yield Static("", id="status")
            yield Vertical(id="layers")

    def on_mount(self) -> None:
        self.query_one("#image", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.pull(event.value.strip())

    @work(exclusive=True)
    async def pull(self, ref: str) -> None:
        name, tag = ref, ""
        if ":" in ref.rsplit("/", 1)[-1]:
            name, tag = ref.rsplit(":", 1)
        status = self.query_one("#status", Static)
        status.update(f"pulling {ref} …")
        layers = self.query_one("#layers", Vertical)
        try:
            async for message in self.app.client.pull(name, tag):
                layer = str(message.get("id") or "")
                text = str(message.get("status") or "")
                detail = message.get("progressDetail") or {}
                if not layer:
                    status.update(text)
                    continue
                bar = self.bars.get(layer)
                if bar is None:
                    row = Horizontal(classes="layer")
                    await layers.mount(row)
                    await row.mount(Label(layer[:12] + " ", classes="layer-id"))
                    bar = ProgressBar(show_eta=False)
                    await row.mount(bar)
                    await row.mount(Label(text, classes="layer-status"))
                    self.bars[layer] = bar
                if detail.get("total"):
                    bar.update(total=detail["total"], progress=detail.get("current", 0))
                elif text in ("Pull complete", "Already exists", "Download complete"):
                    bar.update(total=1, progress=1)
                label = bar.parent.query(".layer-status").last()
                label.update(text)
            status.update(f"pulled {ref}")
            self.done = True
        except ClientError as exc:
            status.update(Text(f"Error: {exc}", style="bold red"))

    def action_close(self) -> None:
        self.dismiss(self.done)


def json_tree(tree: Tree, data, label: str = "") -> None:
    """Fill `tree` with `data`, folded below the first level."""
    def add(node, key: str, value) -> None:
        if isinstance(value, dict):
            child = node.add(f"{key} {{{len(value)}}}" if key else "{}", expand=False)
            for k, v in value.items():
                add(child, str(k), v)
        elif isinstance(value, list):
            child = node.add(f"{key} [{len(value)}]", expand=False)
            for i, v in enumerate(value):
                add(child, str(i), v)
        else:
            node.add_leaf(Text.assemble((f"{key}: ", "bold"), json.dumps(value)))
    root = tree.root
    root.set_label(label)
    if isinstance(data, dict):
        for k, v in data.items():
            add(root, str(k), v)
    root.expand()


class InspectScreen(ModalScreen[None]):
    """The inspect JSON as a folded tree; `/` searches keys and values."""

    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("slash", "search", "Search"),
                Binding("n", "next_match", "Next match"), Binding("e", "expand_all", "Expand all")]

    def __init__(self, title: str, data) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.data = title, data
        self.matches: list = []
        self.match_index = -1

    def compose(self):
        with Vertical(classes="dialog-box inspect"):
            yield Label(self.title_text)
            yield Input(placeholder="search (Enter)", id="search")
            yield Tree(self.title_text, id="json")

    def on_mount(self) -> None:
        json_tree(self.query_one(Tree), self.data, self.title_text)
        self.query_one(Tree).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_expand_all(self) -> None:
        self.query_one(Tree).root.expand_all()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip().lower()
        tree = self.query_one(Tree)
        self.matches = []
        if text:
            def visit(node) -> None:
                if text in str(node.label).lower():
                    self.matches.append(node)
                for child in node.children:
                    visit(child)
            visit(tree.root)
        self.match_index = -1
        tree.focus()
        if not self.matches:
            self.notify(f"no match for {text!r}", severity="warning")
            return
        self.action_next_match()

    def action_next_match(self) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + 1) % len(self.matches)
        node = self.matches[self.match_index]
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        tree = self.query_one(Tree)
        self.call_after_refresh(lambda: tree.move_cursor(node))


class TopScreen(ModalScreen[None]):
    """`top` of one container, every two seconds."""

    BINDINGS = [Binding("escape,q", "close", "Close")]
    INTERVAL = 2.0

    def __init__(self, container: str, name: str) -> None:
        super().__init__(classes="dialog")
        self.container, self.cname = container, name

    def compose(self):
        with Vertical(classes="dialog-box top"):
            yield Label(f"top {self.cname}", id="top-title")
            yield DataTable(id="top", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.refresh_top()
        self.set_interval(self.INTERVAL, self.refresh_top)

    @work(exclusive=True)
    async def refresh_top(self) -> None:
        table = self.query_one(DataTable)
        try:
            top = await self.app.client.top(self.container)
        except ClientError as exc:
            self.query_one("#top-title", Label).update(Text(f"top {self.cname}: {exc}", style="red"))
            return
        table.clear(columns=True)
        table.add_columns(*top.titles)
        for process in top.processes:
            table.add_row(*process)
        self.query_one("#top-title", Label).update(f"top {self.cname} — {len(top.processes)} processes")

    def action_close(self) -> None:
        self.dismiss(None)


HELP = """\
[b]pyctr-tui[/b] — keys (the footer shows those of the focused panel)

[b]Everywhere[/b]
  1 2 3 4 5     Containers, Images, Logs, Attach, Events
  ?             this help            q / ctrl+q   quit
  tab           next panel

[b]Containers[/b]
  /  filter by typing (esc clears)   a  running / all     o  sort column
  s  start     x  stop     r  restart     k  kill (pick the signal)
  p  pause / unpause       d  remove (asks)       i / enter  inspect
  l  follow the logs in a pane       e  attach (terminal)   t  top
  n  run a new container (form)

[b]Images[/b]  (the tree of layers: enter/space fold and unfold)
  d  remove    g  tag    n  run from it    u  pull    i  inspect    a  all layers

[b]Log panes[/b]
  t  timestamps    p  pause scrolling    /  search    c  clear    w  close

[b]Attach panes[/b]  (every key goes to the container)
  Ctrl-P Ctrl-Q  detach        Ctrl-P Tab  leave the pane, stay attached

[b]Inspect[/b]   /  search    n  next match    e  expand all    esc  close
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self):
        with VerticalScroll(classes="dialog-box help"):
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
