"""Modal screens: confirm, choices (kill signal, tags to remove), a line to type (tag,
exec), a message, run form, pull progress, inspect, top and help."""

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

from .runform import FormError, RunRequest, split_env, split_list

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


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few labelled choices; the result is its id (None: Esc)."""
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str]], result=None) -> None:
        """`result`: what the dialog gives for the id picked (the id itself by default)."""
        super().__init__(classes="dialog")
        self.question, self.choices = question, choices
        self.result = result or (lambda wid: wid)

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Label(self.question)
            yield OptionList(*[Option(label, id=wid) for wid, label in self.choices])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.result(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


def signal_screen(container: str) -> ChoiceScreen:
    return ChoiceScreen(f"Send which signal to {container}?", [(s, f"SIG{s}") for s in SIGNALS])


ALL_TAGS = "\0all"   # the option id of "every tag" (no tag can be spelled so)


def remove_tags_screen(image_id: str, tags: list[str]) -> ChoiceScreen:
    """`d` on an image with several tags: which to remove — one tag (an untag), or
    all of them (which deletes the image when nothing else holds it). The result: the
    tags to remove."""
    return ChoiceScreen(f"Image {image_id} has {len(tags)} tags: remove which? (Esc cancels)",
                        [(t, f"untag {t}") for t in tags] + [(ALL_TAGS, f"all {len(tags)} tags (and the image)")],
                        result=lambda wid: list(tags) if wid == ALL_TAGS else [wid])


class PromptScreen(ModalScreen):
    """One line to type; `parse` makes the result of it (a ValueError is shown, the
    dialog stays). Esc gives None."""
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, parse, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.question, self.parse = question, parse
        self.value, self.placeholder = value, placeholder

    def compose(self):
        with Vertical(classes="dialog-box"):
            yield Label(self.question)
            yield Input(self.value, placeholder=self.placeholder, id="answer")
            yield Static("", id="error", classes="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.dismiss(self.parse(event.value))
        except ValueError as exc:
            self.query_one("#error", Static).update(Text(str(exc), style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)


def parse_tag(value: str) -> tuple[str, str] | None:
    value = value.strip()
    if not value:
        return None
    repo, tag = value, ""
    if ":" in value.rsplit("/", 1)[-1]:
        repo, tag = value.rsplit(":", 1)
    return repo, tag


def tag_screen(image: str) -> PromptScreen:
    return PromptScreen(f"Tag {image} as REPOSITORY[:TAG]", parse_tag, placeholder="myrepo:mytag")


def parse_command(value: str) -> list[str]:
    """A command line split as a shell would."""
    import shlex
    command = shlex.split(value)
    if not command:
        raise ValueError("a command is required")
    return command


def exec_screen(container: str) -> PromptScreen:
    """Which command `exec` runs (a shell by default)."""
    return PromptScreen(f"Run in {container} (with a TTY), Enter starts it:", parse_command, value="sh")


class MessageScreen(ModalScreen[None]):
    """A message with its lines (the config file's problems); Esc or Enter closes."""
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.lines = title, lines

    def compose(self):
        with VerticalScroll(classes="dialog-box message"):
            yield Static(Text(self.title_text, style="bold"))
            yield Static(Text("\n".join(self.lines), style="red"), id="lines")

    def action_close(self) -> None:
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
                  ("env", "Env", "", "KEY=value with spaces, KEY2=v2"), ("ports", "Ports", "", "8080:80, ..."),
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
                          command=value("command"), env=split_env(value("env")),
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
                # "Pulling from REPO" carries the tag as its id: a line of status, not a layer
                if not layer or text.startswith("Pulling from "):
                    status.update(f"{text} ({layer})" if layer else text)
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
        finally:
            self._settle_bars()

    def _settle_bars(self) -> None:
        """The pull is over: a bar still without a total would pulse for ever. After
        success its layer is there (full); after a failure it stays empty."""
        for bar in self.bars.values():
            if bar.total is None:
                bar.update(total=1, progress=1 if self.done else 0)

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
[b]pyctr-tui keys[/b] · [b]Esc[/b] (or q, ?) closes this help
The footer shows the keys of the focused panel.

[b]Everywhere[/b]
  1 2 3 4 5     Containers, Images, Logs, Attach, Events
  6 7 8         Networks, Volumes, Commands (API actions, answers)
  ?             this help            q / ctrl+q   quit
  tab / shift+tab   next / previous pane of the tab, or field

[b]Containers[/b]
  /  filter by typing (esc clears)   a  running / all     o  sort column
  s  start     x  stop     r  restart     k  kill (pick the signal)
  p  pause / unpause       d  remove (asks)       i / enter  inspect
  l  follow the logs in a pane       e  attach (terminal)   t  top
  E  exec a shell (or a command you type) in a terminal pane
  n  run a new container (form)      u  published ports' URLs (enter copies)
  space  mark containers: s x r d then act on all marked   P  prune stopped
  g  group by compose project: s x r d on a project's row act on the project
  U / D / R  the selected project up (start) / down (stop+remove) / restart
  L  merged logs of the marked, the project's or all running containers
  v  detail: live CPU MEM NET IO of the selected container above its logs
  keys of your own: the config file's commands, ~/.config/pyctr/tui.toml

[b]Networks, Volumes[/b]
  i / enter  inspect    n  create (form)    d  remove (asks)    P  prune unused

[b]Images[/b]  (the tree of layers: enter/space fold and unfold)
  d  remove (several tags: pick one or all)    g  tag    n  run from it
  u  pull    i  inspect    a  all layers

[b]Log panes[/b]
  t  timestamps    p  pause scrolling    /  search    c  clear    w  close

[b]Attach and exec panes[/b]  (with a TTY every key goes to the container)
  Ctrl-P Ctrl-Q  detach        Ctrl-P Tab  leave the pane, stay attached
  without a TTY: i  type a line of stdin (Enter sends, Esc leaves)    w  close
  a session that ended: w closes the pane

[b]Inspect[/b]   /  search    n  next match    e  expand all    esc  close
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self):
        with VerticalScroll(classes="dialog-box help"):
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
