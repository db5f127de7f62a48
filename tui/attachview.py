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

from .logview import LineSplitter, printable
from .terminal import CTRL_P, CTRL_Q, TerminalView

RESIZE_DELAY = 0.15   # coalesce the resizes of a terminal being dragged


class StdinLine(Input):
    """The stdin line of a non-TTY pane: Esc gives the keys back to the pane."""
    BINDINGS = [Binding("escape", "leave", "Leave the line", show=False)]

    def action_leave(self) -> None:
        self.parent.query_one(".attach-output").focus()


class AttachView(Vertical):
    # Without a TTY the output has the focus, so 1-5 and w stay the app's keys;
    # i (or Enter) goes to the stdin line, Esc comes back.
    BINDINGS = [Binding("w", "close", "Close pane"), Binding("i,enter", "type", "Type stdin")]
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
            yield RichLog(max_lines=5000, wrap=True, markup=False, highlight=False,
                          classes="attach-output")
            yield StdinLine(placeholder="stdin: press i to type a line, Enter sends it, Esc leaves")

    def _header(self) -> str:
        keys = "Ctrl-P Ctrl-Q detach · Ctrl-P Tab leave" if self.tty else "i type stdin · Esc leave it · w close"
        return f" {self.VERB} {self.cname} ({self.state}) — {keys}"

    def set_state(self, state: str) -> None:
        self.state = state
        if self.tty and state not in ("attaching", "attached") and self.is_mounted:
            self.terminal.live = False
            self.refresh_bindings()
        if self.is_mounted:
            self.query_one(".attach-header", Static).update(self._header())

    def on_mount(self) -> None:
        self.run_attach()
        self.focus_target.focus()

    @property
    def focus_target(self):
        """Where the pane's keys work: the terminal, or the output of a non-TTY pane."""
        return self.query_one(TerminalView) if self.tty else self.query_one(".attach-output")

    def check_action(self, action: str, parameters) -> bool | None:
        # With a TTY the keys are the container's: the footer must not offer "i" or "w"
        # while the session is live.
        if self.tty and action in ("type", "close") and self.is_mounted and self.terminal.live:
            return False
        return True

    async def stream_ended(self) -> None:
        """The output ended on its own (an exec says how)."""

    def action_type(self) -> None:
        if not self.tty:
            self.query_one(StdinLine).focus()

    @property
    def terminal(self) -> TerminalView:
        return self.query_one(TerminalView)

    VERB = "attach"

    async def open_stream(self) -> AttachStream:
        return await self.app.client.attach(self.container, self.tty, stdin=True)

    async def resize_pty(self, rows: int, cols: int) -> None:
        await self.app.client.resize(self.container, rows, cols)

    @work(exclusive=True, group="attach")
    async def run_attach(self) -> None:
        try:
            self.stream = await self.open_stream()
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
                        log.write(Text(printable(line), style="red" if stream_ == STDERR else ""))
            if self.state == "attached":
                self.set_state("ended: the container stopped or was removed")
                await self.stream_ended()
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
        await self._close()

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
            await self.resize_pty(rows, cols)
        except ClientError as exc:
            self.app.notify(f"resize: {exc}", severity="warning")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self._send(event.value.encode() + b"\n")
        event.input.value = ""

    async def action_close(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        await self._close()

    async def _close(self) -> None:
        app = self.app
        await self.remove()
        app.pane_closed()


class ExecView(AttachView):
    """A command run in the container (`docker exec -it`), in the same kind of pane:
    a TTY exec in the terminal, else the output and a stdin line."""

    VERB = "exec"

    def __init__(self, container: str, name: str, command: list[str], tty: bool = True) -> None:
        super().__init__(container, name, tty)
        self.command = command
        self.exec_id = ""
        self.exit_code: int | None = None

    def _header(self) -> str:
        keys = "exit or Ctrl-D ends it · Ctrl-P Tab leave" if self.tty else "i type stdin · Esc leave it · w close"
        return f" exec {' '.join(self.command)} in {self.cname} ({self.state}) — {keys}"

    async def open_stream(self) -> AttachStream:
        app = self.app
        what = f"exec {self.cname} {' '.join(self.command)}"
        ok, exec_id = await app.run_logged(what, app.engine.exec_create(self.container, self.command, self.tty),
                                           quiet=True, summary=lambda i: f"exec id {i[:12]}")
        if not ok:
            raise ClientError(app.command_log.entries[-1].result)
        self.exec_id = exec_id
        return await app.client.exec_start(exec_id, self.tty)

    async def resize_pty(self, rows: int, cols: int) -> None:
        await self.app.engine.exec_resize(self.exec_id, rows, cols)

    async def stream_ended(self) -> None:
        try:
            self.exit_code = (await self.app.engine.exec_inspect(self.exec_id)).get("ExitCode")
        except ClientError:
            return
        self.set_state(f"ended, exit code {self.exit_code} · w closes")
