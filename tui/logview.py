"""A log tail pane: follows `logs -f` of one container.

Lines are kept in a bounded buffer (BUFFER lines) and drawn at most every
FLUSH seconds, at most DRAW_MAX lines a time: a container writing thousands of
lines a second costs the UI one redraw per tick, and what was skipped is still
in the buffer for search. stderr is red; timestamps are fetched always and
shown on demand; pause stops the scrolling, not the following."""

from __future__ import annotations

import asyncio
import collections
import re

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from pyctr.engine.client.aio import STDERR, ConnectionLost
from pyctr.engine.client.errors import ClientError

from .config import with_ids

BUFFER = 5000
DRAW_MAX = 100   # a tick of a flood draws the newest 100 (a pane shows fewer); the rest is in the buffer
FLUSH = 0.1
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT[0-9:.]+Z?) ")
# Terminal control a program writes (a TTY `top` above all): OSC (titles), CSI (cursor
# moves, clears, colours), two-byte ESC sequences, and the C0/C1 controls but tab.
# Drawn as text they would reach the real terminal and redraw it under the TUI.
_CONTROL = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
                      r"|\x1b\[[0-?]*[ -/]*[@-~]?"
                      r"|\x1b[()*+][0-9A-Za-z]?"
                      r"|\x1b[ -~]?"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(line: str) -> str:
    """What a log line shows: after its last carriage return (a terminal overwrites
    the start of the line), without escape sequences and control characters."""
    return _CONTROL.sub("", line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line)


class LogLine:
    """One line as it came (`raw`: with the daemon's timestamp and any control codes);
    its stamp and printable text are worked out at the first look. A flood's lines are
    mostly never drawn nor searched: parsing each on arrival was the TUI's largest cost."""
    __slots__ = ("stream", "raw", "source", "_stamp", "_text")

    def __init__(self, stream: int, raw: str, source: str = "") -> None:
        self.stream, self.raw, self.source = stream, raw, source   # source: the container, in a merged pane
        self._text: str | None = None
        self._stamp = ""

    def _parse(self) -> str:
        match = _STAMP.match(self.raw)
        self._stamp = match.group(1) if match else ""
        self._text = printable(self.raw[match.end():] if match else self.raw)
        return self._text

    @property
    def text(self) -> str:
        return self._text if self._text is not None else self._parse()

    @property
    def stamp(self) -> str:
        if self._text is None:
            self._parse()
        return self._stamp


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
    BINDINGS = with_ids("logs", [
        Binding("t", "timestamps", "Timestamps"),
        Binding("p", "pause", "Pause scroll"),
        Binding("slash", "search", "Search"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("c", "clear", "Clear"),
        Binding("w", "close", "Close pane"),
    ])
    DEFAULT_CSS = """
    LogView { border: round $primary; height: 1fr; width: 1fr; }
    LogView:focus-within { border: round $accent; }
    LogView > .log-header { height: 1; background: $boost; }
    LogView > RichLog { height: 1fr; }
    LogView > Input { display: none; }
    LogView.searching > Input { display: block; }
    """

    merged = False

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
        self._not_drawn = 0   # lines skipped since the last drawing (the next one says so)
        self.total = 0
        self._splitter = LineSplitter()

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
            async for batch in client.log_batches(self.container, self.tty, follow=True,
                                                  timestamps=True, tail=tail):
                self.receive_batch(batch)
                await asyncio.sleep(0)   # a flood's next slice waits behind keys and redraws
            self.state = "container stopped"
        except ConnectionLost:
            self.state = "daemon connection lost"
        except ClientError as exc:
            self.state = str(exc)
        self.update_header()

    def reconnected(self) -> None:
        """The app is connected again: follow new lines (the old ones are here)."""
        self.follow(tail="0")

    def receive_batch(self, pieces: list[tuple[int, bytes]], source: str = "",
                      splitter: LineSplitter | None = None) -> None:
        """Pieces of one read: each run of one stream is split into lines at once."""
        run_stream, run = -1, []
        for stream, data in pieces:
            if stream != run_stream and run:
                self.receive(run_stream, b"".join(run), source, splitter)
                run = []
            run_stream = stream
            run.append(data)
        if run:
            self.receive(run_stream, b"".join(run), source, splitter)

    def receive(self, stream: int, data: bytes, source: str = "",
                splitter: LineSplitter | None = None) -> None:
        lines = [LogLine(stream_, raw, source) for stream_, raw in (splitter or self._splitter).feed(stream, data)]
        self.buffer.extend(lines)
        self.pending.extend(lines)
        self.total += len(lines)
        if len(self.pending) > BUFFER:
            self.skipped += len(self.pending) - BUFFER
            del self.pending[:-BUFFER]

    def flush(self) -> None:
        """Draw what came since the last tick, in one write: RichLog renders, trims and
        scrolls per write, and 300 writes a tick kept a flood's UI busy for most of each
        tick (key presses and tab switches waited behind them). A pane not on screen (its
        tab hidden, or under a dialog) draws nothing: its lines wait, bounded, in `pending`."""
        if not self.pending:
            return
        if not self.log_widget.is_on_screen:
            if len(self.pending) > DRAW_MAX:
                self.skipped += len(self.pending) - DRAW_MAX
                self._not_drawn += len(self.pending) - DRAW_MAX
                del self.pending[:-DRAW_MAX]
            return
        pending, self.pending = self.pending, []
        if self.merged:
            pending.sort(key=lambda line: line.stamp)   # the sources' lines of one tick, in time order
        self.write_lines([line for line in pending if self._matches(line)])

    def write_lines(self, shown: list[LogLine]) -> None:
        texts = [self.line_text(line) for line in shown[-DRAW_MAX:]]
        self.skipped += max(0, len(shown) - DRAW_MAX)
        not_drawn, self._not_drawn = self._not_drawn + max(0, len(shown) - DRAW_MAX), 0
        if not_drawn:
            texts.insert(0, Text(f"… {not_drawn} lines not drawn (in the buffer for search)", style="italic dim"))
        if texts:
            self.log_widget.write(Text("\n").join(texts), scroll_end=not self.paused)

    # --- drawing ----------------------------------------------------------------
    def _matches(self, line: LogLine) -> bool:
        return not self.pattern or self.pattern.lower() in line.text.lower()

    def line_text(self, line: LogLine) -> Text:
        text = Text(no_wrap=True)
        if self.show_stamps and line.stamp:
            text.append(line.stamp + " ", style="dim")
        if self.merged:
            text.append(f"{line.source:<{self.source_width}} │ ", style=self.source_styles.get(line.source, ""))
        text.append(line.text, style="red" if line.stream == STDERR else "")
        if self.pattern:
            text.highlight_words([self.pattern], style="reverse", case_sensitive=False)
        return text

    def redraw(self) -> None:
        log = self.log_widget
        log.clear()
        lines = [line for line in self.buffer if self._matches(line)][-DRAW_MAX * 4:]
        if lines:
            log.write(Text("\n").join(self.line_text(line) for line in lines), scroll_end=not self.paused)
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
        app = self.app
        await self.remove()
        app.pane_closed()


SOURCE_STYLES = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan",
                 "bright_magenta", "bright_green", "bright_yellow"]


class MergedLogView(LogView):
    """`logs -f` of several containers in one pane, each line after its source's name
    (a column of its own colour); lines of one drawing tick are put in time order."""

    merged = True

    def __init__(self, sources: list[tuple[str, str, bool]], title: str) -> None:
        super().__init__("", title, False)
        self.sources = sources            # (id, name, tty)
        self.source_width = min(20, max((len(name) for _, name, _ in sources), default=6))
        self.source_styles = {name: SOURCE_STYLES[i % len(SOURCE_STYLES)]
                              for i, (_, name, _) in enumerate(sources)}
        self.following = 0

    def _header_text(self) -> str:
        return super()._header_text().replace(" logs ", " merged logs ", 1)

    @work(exclusive=True, group="follow")
    async def follow(self, tail: str = "all") -> None:
        self.following = len(self.sources)
        self.state = f"following {self.following}"
        self.update_header()
        await asyncio.gather(*(self._follow_one(cid, name, tty, tail) for cid, name, tty in self.sources))
        self.state = "all stopped"
        self.update_header()

    async def _follow_one(self, cid: str, name: str, tty: bool, tail: str) -> None:
        splitter = LineSplitter()
        try:
            async for batch in self.app.client.log_batches(cid, tty, follow=True, timestamps=True,
                                                           tail=tail):
                self.receive_batch(batch, name, splitter)
                await asyncio.sleep(0)
        except (ConnectionLost, ClientError):
            pass
        self.following -= 1
        self.state = f"following {self.following} of {len(self.sources)}"
        self.update_header()
