"""Paging of long results at the pyctr-shell prompt, as git does it.

A listing command (ps, images, inspect, logs without -f, help...) whose output
goes to the terminal runs with its output kept; if that is taller than the
terminal it is shown through a pager, otherwise written out as it is. The
pager is $PYCTR_PAGER, else $PAGER, else `less` with LESS=FRX when LESS is unset
(quit at once if it fits, keep colours, leave the text on the screen: git's
default); `q` leaves it. PYCTR_PAGER=cat (or empty) turns paging off.

Commands that stream or talk to the user (run, attach, exec, logs -f, events,
stats, pull...) are never paged: they write to the terminal as they go."""

from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import sys
from typing import Any

# Commands whose output is a finished result; some only in some forms (see pageable()).
PAGED = {"ps", "images", "inspect", "logs", "history", "help", "info", "version", "top",
         "diff", "port", "search", "volume", "network", "system", "image", "container"}
STREAMING_FLAGS = {"-f", "--follow"}


def pageable(argv: list[str]) -> bool:
    name = argv[0]
    if name not in PAGED:
        return False
    if name == "logs" and any(a in STREAMING_FLAGS or (a.startswith("-") and not a.startswith("--")
                                                       and "f" in a[1:]) for a in argv[1:]):
        return False
    if name == "system" and "events" in argv[1:]:
        return False
    if name in ("image", "container"):  # `container ls` yes, `container attach` no
        return len(argv) > 1 and argv[1] in ("ls", "list", "inspect", "history", "port", "top",
                                             "diff", "logs") and not set(argv) & STREAMING_FLAGS
    return True


class KeptOutput(io.TextIOWrapper):
    """A command's stdout kept in memory, looking like the terminal it stands
    for (isatty, fileno for its size), so the command prints exactly what it
    would print there."""

    def __init__(self, terminal: Any):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)
        self._terminal = terminal

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._terminal.fileno()

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8", "replace")


def pager_command(environ: Any) -> list[str] | None:
    """The pager to run, or None for none."""
    for name in ("PYCTR_PAGER", "PAGER"):
        if name in environ:
            value = environ[name].strip()
            return None if value in ("", "cat") else shlex.split(value)
    return ["less"]


def rows_needed(text: str, columns: int) -> int:
    columns = max(1, columns)
    return sum(max(1, -(-len(line) // columns)) for line in text.split("\n")[:-1 or None])


def show(text: str, terminal: Any, environ: Any) -> None:
    """Write `text` to the terminal, through the pager when it does not fit."""
    try:
        size = os.get_terminal_size(terminal.fileno())
    except OSError:
        size = None
    command = pager_command(environ)
    if size is None or command is None or rows_needed(text, size.columns) < size.lines:
        terminal.write(text)
        terminal.flush()
        return
    env = dict(environ)
    env.setdefault("LESS", "FRX")
    terminal.flush()
    # As git does: the pager owns the terminal until it ends; ^C is its business
    # (less ignores it), the shell waits for `q`.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            pager = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        except OSError as exc:
            sys.stderr.write(f"pyctr-shell: pager {command[0]}: {exc.strerror}\n")
            terminal.write(text)
            terminal.flush()
            return
        try:
            pager.stdin.write(text.encode("utf-8", "replace"))
            pager.stdin.close()
        except BrokenPipeError:
            pass  # `q` before the end
        pager.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
