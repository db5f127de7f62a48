"""An attach pane: the container's terminal (TTY containers, through pyte), or
for a container without a TTY its multiplexed output with a line of stdin."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from pyctr.engine.client.aio import STDERR, AttachStream, ConnectionLost
from pyctr.engine.client.errors import ClientError

from .logview import LineSplitter
from .terminal import CTRL_P, CTRL_Q, TerminalView

RESIZE_DELAY = 0.15   # coalesce the resizes of a terminal being dragged


class AttachView(Vertical):
    BINDINGS = [Binding("w", "close", "Close pane")]
    DEFAULT_CSS = """
    AttachView { border: round $primary; height: 1fr; width: 1fr; }
    AttachView:focus-within { border: round $accent; }
    AttachView > .attach-header { height: 1; background: $boost; }
    AttachView > RichLog { height: 1fr; }
    """

    def __init__(self, container: str, name: str, tty: bool) -> None:
        super().__init__(classes="attachview")
        self.container, self.cname, self.tty = container, name, tty
        self.stream: AttachStream | None = None
        self.state = "attaching"
        self._resize_task: asyncio.Task | None = None
        self._pty_size: tuple[int, int] | None = None
        self._splitter = LineSplitter()

    def compose(self):
        yield Static(self._header(), classes="attach-header")
        if self.tty:
            yield TerminalView()
        else:
            yield RichLog(max_lines=5000, wrap=True, markup=False, highlight=False)
            yield Input(placeholder="stdin: a line, Enter sends it")

    def _header(self) -> str:
        keys = "Ctrl-P Ctrl-Q detach · Ctrl-P Tab leave" if self.tty else "w close"
        return f" attach {self.cname} ({self.state}) — {keys}"

    def set_state(self, state: str) -> None:
        self.state = state
        if self.is_mounted:
            self.query_one(".attach-header", Static).update(self._header())

    def on_mount(self) -> None:
        self.run_attach()
        (self.query_one(TerminalView) if self.tty else self.query_one(Input)).focus()

    @property
    def terminal(self) -> TerminalView:
        return self.query_one(TerminalView)

    @work(exclusive=True, group="attach")
    async def run_attach(self) -> None:
        client = self.app.client
        try:
            self.stream = await client.attach(self.container, self.tty, stdin=True)
        except ClientError as exc:
            self.set_state(f"failed: {exc}")
            return
        self.set_state("attached")
        if self.tty:
            term = self.terminal
            self._pty_size = (term.screen_.lines, term.screen_.columns)
            await self._send_resize()
        try:
            async for stream, data in self.stream.output():
                if self.tty:
                    self.terminal.feed(data)
                else:
                    log = self.query_one(RichLog)
                    for stream_, line in self._splitter.feed(stream, data):
                        log.write(Text(line, style="red" if stream_ == STDERR else ""))
            if self.state == "attached":
                self.set_state("ended: the container stopped or was removed")
        except ConnectionLost:
            self.set_state("ended: lost the connection to the daemon")
        finally:
            await self.stream.close()

    async def _send(self, data: bytes) -> None:
        if self.stream is None or self.state != "attached":
            return
        try:
            await self.stream.send(data)
        except (ClientError, ConnectionError, OSError):
            self.set_state("ended: the stream is closed")

    async def on_terminal_view_input(self, message: TerminalView.Input) -> None:
        await self._send(message.data)

    async def on_terminal_view_detach(self, message: TerminalView.Detach) -> None:
        await self._send(CTRL_P + CTRL_Q)   # the daemon ends the session on it
        self.set_state("detached")
        await self.remove()

    def on_terminal_view_resized(self, message: TerminalView.Resized) -> None:
        self._pty_size = (message.rows, message.cols)
        if self._resize_task is None or self._resize_task.done():
            self._resize_task = asyncio.create_task(self._resize_later())

    async def _resize_later(self) -> None:
        await asyncio.sleep(RESIZE_DELAY)
        await self._send_resize()

    async def _send_resize(self) -> None:
        if self._pty_size is None or self.state != "attached":
            return
        rows, cols = self._pty_size
        try:
            await self.app.client.resize(self.container, rows, cols)
        except ClientError as exc:
            self.app.notify(f"resize: {exc}", severity="warning")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self._send(event.value.encode() + b"\n")
        event.input.value = ""

    async def action_close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await self.remove()
