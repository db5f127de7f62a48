"""A log tail pane: follows `logs -f` of one container.

Lines are kept in a bounded buffer (BUFFER lines) and drawn at most every
FLUSH seconds, at most DRAW_MAX lines a time: a container writing thousands of
lines a second costs the UI one redraw per tick, and what was skipped is still
in the buffer for search. stderr is red; timestamps are fetched always and
shown on demand; pause stops the scrolling, not the following."""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from pyctr.engine.client.aio import STDERR, ConnectionLost
from pyctr.engine.client.errors import ClientError

BUFFER = 5000
DRAW_MAX = 300
FLUSH = 0.1
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT[0-9:.]+Z?) ")


@dataclass
class LogLine:
    stamp: str
    stream: int
    text: str


class LineSplitter:
    """Bytes of one stream -> complete lines (the last partial line waits)."""

    def __init__(self) -> None:
        self._partial: dict[int, str] = {}

    def feed(self, stream: int, data: bytes) -> list[tuple[int, str]]:
        text = self._partial.pop(stream, "") + data.decode("utf-8", "replace")
        parts = text.replace("\r\n", "\n").split("\n")
        if parts[-1]:
            self._partial[stream] = parts[-1]
        return [(stream, line) for line in parts[:-1]]


class LogView(Vertical):
    BINDINGS = [
        Binding("t", "timestamps", "Timestamps"),
        Binding("p", "pause", "Pause scroll"),
        Binding("slash", "search", "Search"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("c", "clear", "Clear"),
        Binding("w", "close", "Close pane"),
    ]
    DEFAULT_CSS = """
    LogView { border: round $primary; height: 1fr; width: 1fr; }
    LogView:focus-within { border: round $accent; }
    LogView > .log-header { height: 1; background: $boost; }
    LogView > RichLog { height: 1fr; }
    LogView > Input { display: none; }
    LogView.searching > Input { display: block; }
    """

    def __init__(self, container: str, name: str, tty: bool) -> None:
        super().__init__(classes="logview")
        self.container, self.cname, self.tty = container, name, tty
        self.buffer: collections.deque[LogLine] = collections.deque(maxlen=BUFFER)
        self.pending: list[LogLine] = []
        self.show_stamps = False
        self.paused = False
        self.pattern = ""
        self.state = "following"
        self.skipped = 0
        self.total = 0
        self._splitter = LineSplitter()
        self._last_stamp = ""

    def compose(self):
        yield Static(self._header_text(), classes="log-header")
        yield RichLog(max_lines=BUFFER, wrap=False, markup=False, highlight=False, auto_scroll=True)
        yield Input(placeholder="search (Enter to apply, Esc to clear)")

    def on_mount(self) -> None:
        self.set_interval(FLUSH, self.flush)
        self.follow(tail="200")

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    def _header_text(self) -> str:
        flags = []
        if self.paused:
            flags.append("paused")
        if self.show_stamps:
            flags.append("timestamps")
        if self.pattern:
            flags.append(f"search: {self.pattern}")
        extra = f" [{', '.join(flags)}]" if flags else ""
        return f" logs {self.cname} ({self.state}){extra}"

    def update_header(self) -> None:
        if self.is_mounted:
            self.query_one(".log-header", Static).update(self._header_text())

    # --- following ------------------------------------------------------------
    @work(exclusive=True, group="follow")
    async def follow(self, tail: str = "all") -> None:
        self.state = "following"
        self.update_header()
        client = self.app.client
        try:
            async for stream, data in client.logs(self.container, self.tty, follow=True,
                                                  timestamps=True, tail=tail):
                self.receive(stream, data)
            self.state = "container stopped"
        except ConnectionLost:
            self.state = "daemon connection lost"
        except ClientError as exc:
            self.state = str(exc)
        self.update_header()

    def reconnected(self) -> None:
        """The app is connected again: follow new lines (the old ones are here)."""
        self.follow(tail="0")

    def receive(self, stream: int, data: bytes) -> None:
        for stream_, raw in self._splitter.feed(stream, data):
            match = _STAMP.match(raw)
            if match:
                self._last_stamp, raw = match.group(1), raw[match.end():]
            line = LogLine(self._last_stamp, stream_, raw)
            self.buffer.append(line)
            self.pending.append(line)
            self.total += 1
        if len(self.pending) > BUFFER:
            self.skipped += len(self.pending) - BUFFER
            del self.pending[:-BUFFER]

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        shown = [line for line in pending if self._matches(line)]
        log = self.log_widget
        if len(shown) > DRAW_MAX:
            self.skipped += len(shown) - DRAW_MAX
            log.write(Text(f"… {len(shown) - DRAW_MAX} lines not drawn (in the buffer for search)",
                           style="italic dim"), scroll_end=not self.paused)
            shown = shown[-DRAW_MAX:]
        for line in shown:
            log.write(self.line_text(line), scroll_end=not self.paused)

    # --- drawing ----------------------------------------------------------------
    def _matches(self, line: LogLine) -> bool:
        return not self.pattern or self.pattern.lower() in line.text.lower()

    def line_text(self, line: LogLine) -> Text:
        text = Text(no_wrap=True)
        if self.show_stamps and line.stamp:
            text.append(line.stamp + " ", style="dim")
        text.append(line.text, style="red" if line.stream == STDERR else "")
        if self.pattern:
            text.highlight_words([self.pattern], style="reverse", case_sensitive=False)
        return text

    def redraw(self) -> None:
        log = self.log_widget
        log.clear()
        lines = [line for line in self.buffer if self._matches(line)][-BUFFER:]
        for line in lines[-DRAW_MAX * 4:]:
            log.write(self.line_text(line), scroll_end=not self.paused)
        self.pending.clear()
        self.update_header()

    # --- actions ----------------------------------------------------------------
    def action_timestamps(self) -> None:
        self.show_stamps = not self.show_stamps
        self.redraw()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.log_widget.auto_scroll = not self.paused
        if not self.paused:
            self.log_widget.scroll_end(animate=False)
        self.update_header()

    def action_search(self) -> None:
        self.add_class("searching")
        self.query_one(Input).focus()

    def action_clear_search(self) -> None:
        self.remove_class("searching")
        self.query_one(Input).value = ""
        if self.pattern:
            self.pattern = ""
            self.redraw()
        self.log_widget.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pattern = event.value.strip()
        self.redraw()
        self.log_widget.focus()

    def action_clear(self) -> None:
        self.buffer.clear()
        self.log_widget.clear()

    async def action_close(self) -> None:
        self.workers.cancel_group(self, "follow")
        await self.remove()
