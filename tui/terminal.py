"""A terminal inside the TUI: pyte (a VT100/xterm emulator) keeps the screen of
a TTY container from its raw output; this widget draws that screen, turns keys
into the bytes a terminal would send, and reports its size so the container's
pty can be resized to match.

Ctrl-P Ctrl-Q detaches (Docker's sequence); Ctrl-P Tab leaves the pane with
the container still attached; Ctrl-P followed by anything else sends both."""

from __future__ import annotations

import functools

import pyte
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

CTRL_P, CTRL_Q = b"\x10", b"\x11"
DECCKM = 1 << 5   # private mode 1 (cursor keys send ESC O x), as pyte numbers private modes

# What a terminal sends for the keys that are not characters.
KEYS = {
    "enter": b"\r", "tab": b"\t", "shift+tab": b"\x1b[Z", "escape": b"\x1b",
    "backspace": b"\x7f", "ctrl+h": b"\x08", "delete": b"\x1b[3~", "insert": b"\x1b[2~",
    "home": b"\x1b[H", "end": b"\x1b[F", "pageup": b"\x1b[5~", "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS", "f5": b"\x1b[15~",
    "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~", "f9": b"\x1b[20~",
    "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~", "ctrl+space": b"\x00",
}
ARROWS = {"up": b"A", "down": b"B", "right": b"C", "left": b"D"}

# pyte's colour names -> Rich's (pyte calls yellow "brown").
_NAMES = {"black": "black", "red": "red", "green": "green", "brown": "yellow", "blue": "blue",
          "magenta": "magenta", "cyan": "cyan", "white": "white"}


@functools.lru_cache(maxsize=1024)
def _color(name: str) -> Color | None:
    if name == "default":
        return None
    if name.startswith("bright"):
        base = _NAMES.get(name[len("bright"):])
        return Color.parse(f"bright_{base}") if base else None
    if name in _NAMES:
        return Color.parse(_NAMES[name])
    if len(name) == 6:
        try:
            return Color.parse("#" + name)
        except Exception:
            return None
    return None


@functools.lru_cache(maxsize=4096)
def char_style(fg: str, bg: str, bold: bool, italics: bool, underscore: bool,
               strikethrough: bool, reverse: bool, cursor: bool = False) -> Style:
    return Style(color=_color(fg), bgcolor=_color(bg), bold=bold or None,
                 italic=italics or None, underline=underscore or None,
                 strike=strikethrough or None, reverse=(reverse != cursor) or None)


def key_bytes(event: events.Key, application_cursor: bool = False) -> bytes:
    """The bytes a terminal sends for a key press ("" for keys it would not send)."""
    key = event.key
    if key in ARROWS:
        return (b"\x1bO" if application_cursor else b"\x1b[") + ARROWS[key]
    if key in KEYS:
        return KEYS[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5]) & 0x1F])
    if key.startswith("alt+") and event.character:
        return b"\x1b" + event.character.encode()
    if event.character:
        return event.character.encode("utf-8", "replace")
    return b""


class EmulatedScreen(pyte.Screen):
    """pyte's screen, passing the terminal's answers (cursor position reports,
    device attributes) back to the program, as a real terminal does."""

    def __init__(self, columns: int, lines: int, reply) -> None:
        super().__init__(columns, lines)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data.encode())


class TerminalView(Widget, can_focus=True):
    """Draws a pyte screen; sends keys and sizes out as messages."""

    DEFAULT_CSS = "TerminalView { height: 1fr; width: 1fr; }"

    class Input(Message):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    class Resized(Message):
        def __init__(self, rows: int, cols: int) -> None:
            super().__init__()
            self.rows, self.cols = rows, cols

    class Detach(Message):
        pass

    def __init__(self, columns: int = 80, lines: int = 24, **kwargs) -> None:
        super().__init__(**kwargs)
        self.screen_ = EmulatedScreen(columns, lines, lambda data: self.post_message(self.Input(data)))
        self.stream = pyte.ByteStream(self.screen_)
        self._after_ctrl_p = False
        self.live = True

    # --- output --------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.stream.feed(data)
        self.refresh()

    def text(self) -> str:
        """The screen as plain text (tests, screenshots)."""
        return "\n".join(line.rstrip() for line in self.screen_.display)

    def render_line(self, y: int) -> Strip:
        screen = self.screen_
        width = self.size.width
        if y >= screen.lines:
            return Strip.blank(width)
        row = screen.buffer[y]
        cursor = screen.cursor
        show_cursor = self.has_focus and not cursor.hidden and cursor.y == y
        segments = []
        for x in range(min(screen.columns, width)):
            char = row[x]
            if char.data == "" and x:   # the right half of a wide character
                continue
            at_cursor = show_cursor and x == cursor.x
            style = char_style(char.fg, char.bg, char.bold, char.italics, char.underscore,
                               char.strikethrough, char.reverse, at_cursor)
            segments.append(Segment(char.data or " ", style))
        return Strip(segments).extend_cell_length(width).crop(0, width)

    # --- input ----------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if not self.live:
            return   # the session ended: the keys are the pane's and the app's again (w closes)
        event.stop()
        event.prevent_default()
        if self._after_ctrl_p:
            self._after_ctrl_p = False
            if event.key == "ctrl+q":
                self.post_message(self.Detach())
                return
            if event.key == "tab":
                self.app.leave_terminal(self)
                return
            self.post_message(self.Input(CTRL_P))
        if event.key == "ctrl+p":
            self._after_ctrl_p = True
            return
        data = key_bytes(event, DECCKM in self.screen_.mode)
        if data:
            self.post_message(self.Input(data))

    async def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.post_message(self.Input(event.text.encode()))

    def on_resize(self, event: events.Resize) -> None:
        cols, rows = max(event.size.width, 2), max(event.size.height, 2)
        if (rows, cols) != (self.screen_.lines, self.screen_.columns):
            self.screen_.resize(rows, cols)
            self.post_message(self.Resized(rows, cols))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
