"""A terminal for driving pyctr-shell in tests: a real pseudo-terminal (pexpect)
whose output is rendered by a VT100 emulator (pyte), so tests can read the
screen (the toolbar, the completed line) as a user would see it.

It answers the cursor position requests (ESC [6n) that prompt-toolkit sends,
as a real terminal does; without answers prompt-toolkit never learns how
much room is below the prompt and draws no bottom toolbar."""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect
import pyte

ANSI = re.compile(r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07|\r")
CPR = b"\x1b[6n"
PROMPT_START, PROMPT_END = b"\x1b[?2004h", b"\x1b[?2004l"


# Every timeout here only bounds a hang (a loaded machine may take tens of seconds for what
# takes one alone): the tests wait for states, never for a number of seconds.
class Terminal:
    def __init__(self, args: list[str], env: dict[str, str], rows: int = 30, cols: int = 120):
        self.rows, self.cols = rows, cols
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.pos = 0  # how far expect() has consumed the cleaned output
        self.rpos = 0  # how far prompt() has consumed the raw output
        self.child = pexpect.spawn(sys.executable, ["-m", "pyctr.shell.repl", *args], env=env,
                                   dimensions=(rows, cols), echo=False)

    # --- reading --------------------------------------------------------------

    def pump(self, timeout: float = 0.1) -> bool:
        """Read what the child wrote (waiting at most `timeout`); False at EOF."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        pieces = data.split(CPR)
        for i, piece in enumerate(pieces):
            self.stream.feed(piece)
            if i < len(pieces) - 1:
                y, x = self.screen.cursor.y, self.screen.cursor.x
                self.child.send(f"\x1b[{y + 1};{x + 1}R".encode())
        return True

    @property
    def text(self) -> str:
        """Everything written so far, without escape sequences."""
        return ANSI.sub("", bytes(self.raw).decode("utf-8", "replace"))

    @property
    def display(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def toolbar(self) -> str:
        return self.display[-1]

    def dump(self) -> str:
        return ("--- screen ---\n" + "\n".join(self.display) +
                "\n--- output ---\n" + self.text[-3000:])

    def wait(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.dump()}")
            if not self.pump(0.1) and not predicate():
                raise AssertionError(f"pyctr-shell exited while waiting for {what}\n{self.dump()}")

    def expect(self, pattern: str, timeout: float = 60) -> re.Match:
        """Wait for `pattern` (a regex) in the output after the last match."""
        found: list[re.Match] = []

        def check() -> bool:
            match = re.compile(pattern).search(self.text, self.pos)
            if match:
                found.append(match)
            return bool(match)

        self.wait(check, repr(pattern), timeout)
        self.pos = found[0].end()
        return found[0]

    def _marker(self, marker: bytes, what: str, timeout: float) -> int:
        """Wait for `marker` in the raw output after self.rpos; consume it."""
        found: list[int] = []

        def check() -> bool:
            at = self.raw.find(marker, self.rpos)
            if at >= 0:
                found.append(at)
            return at >= 0

        self.wait(check, what, timeout)
        self.rpos = found[0] + len(marker)
        return found[0]

    def prompt(self, timeout: float = 60) -> None:
        """Wait for the next prompt. prompt-toolkit turns bracketed paste on when a
        prompt starts and off when a line is accepted: exact markers, where the
        text "pyctr>" is redrawn on every toolbar refresh."""
        self._marker(PROMPT_START, "the prompt", timeout)
        self.pos = len(ANSI.sub("", bytes(self.raw[:self.rpos]).decode("utf-8", "replace")))
        # Let prompt-toolkit finish drawing (and get its CPR answer) before typing.
        self.wait(lambda: self.display[self.screen.cursor.y].startswith("pyctr>"),
                  "the prompt to be drawn", timeout)

    def screen_has(self, pattern: str, timeout: float = 60) -> None:
        regex = re.compile(pattern)
        self.wait(lambda: any(regex.search(line) for line in self.display),
                  f"{pattern!r} on the screen", timeout)

    # --- writing --------------------------------------------------------------

    def type(self, text: str) -> None:
        self.child.send(text.encode())

    def line(self, text: str) -> None:
        """Type a line and press Enter."""
        self.type(text)
        self.type("\r")

    def run(self, text: str, timeout: float = 120) -> str:
        """Type a line at the prompt; return what it printed before the next prompt."""
        self.line(text)
        start = self._marker(PROMPT_END, "the line to be accepted", timeout)
        end = self._marker(PROMPT_START, "the next prompt", timeout)
        out = ANSI.sub("", bytes(self.raw[start:end]).decode("utf-8", "replace"))
        self.rpos = end
        self.prompt(timeout)
        return out

    def interrupt(self) -> None:
        self.child.sendintr()

    def eof(self) -> None:
        self.type("\x04")

    # --- ending ---------------------------------------------------------------

    def exit_status(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.pump(0.1):
            if time.monotonic() > deadline:
                raise AssertionError(f"pyctr-shell did not exit\n{self.dump()}")
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -self.child.signalstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()


def shell_env(host: str, home: str) -> dict[str, str]:
    """The environment for pyctr-shell: this daemon, a terminal type, a home of its own
    (the history file goes under it), and no size overrides (the pty has one)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYCTR_", "DOCKER_")) and k not in ("COLUMNS", "LINES")}
    env.update({"PYCTR_HOST": host, "TERM": "xterm", "HOME": home,
                "XDG_CONFIG_HOME": os.path.join(home, ".config")})
    return env
