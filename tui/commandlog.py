"""The command log: every API action the TUI took (start, stop, remove, prune,
create, exec, …), when, and what the daemon answered."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import RichLog

KEPT = 2000


@dataclass
class LoggedCommand:
    at: float
    what: str
    ok: bool
    result: str


class CommandLog(RichLog):
    def __init__(self) -> None:
        super().__init__(id="command-log", max_lines=KEPT, markup=False, highlight=False, wrap=True)
        self.entries: list[LoggedCommand] = []

    def add(self, what: str, ok: bool, result: str = "") -> None:
        now = datetime.datetime.now()
        self.entries = (self.entries + [LoggedCommand(now.timestamp(), what, ok, result)])[-KEPT:]
        line = Text(now.strftime("%H:%M:%S "), style="dim")
        line.append("ok    " if ok else "error ", style="green" if ok else "bold red")
        line.append(what + " ", style="bold")
        if result:
            line.append(result, style="" if ok else "red")
        self.write(line)
