"""Text the CLI, the shell and the TUI all show: Go's tabwriter, Docker's short ids,
sizes, durations and port lists, as pure functions."""

from __future__ import annotations

import time
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Sequence

if TYPE_CHECKING:  # records cost ~10 ms to import; `pyctr --version` needs none of them
    from pyctr.engine.api.records import PortSummary

SHORT_ID = 12


# --- primitives --------------------------------------------------------------


def tabwrite(text: str, minwidth: int = 20, padding: int = 3) -> str:
    """Align tab-terminated cells into columns, exactly as Go's tabwriter does.

    A column block is a run of consecutive lines that have a tab-terminated cell
    in that column; the text after a line's last tab is never padded."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[int] = []
    out: list[str] = []

    def write_lines(start: int, end: int) -> None:
        for line in lines[start:end]:
            parts = []
            for j, cell in enumerate(line):
                parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
            out.append("".join(parts))

    def format_block(start: int, end: int) -> None:
        column = len(widths)
        this = start
        while this < end:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(start, this)
            start = this
            width = minwidth
            while this < end and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(start, this)
            widths.pop()
            start = this
        write_lines(start, end)

    format_block(0, len(lines))
    return "\n".join(out)


def truncate_id(value: str) -> str:
    return value[:SHORT_ID]


def trunc(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length]


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration: "Less than a second", "About a minute", "3 weeks"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = s // 3600
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 3:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def ago(created: int, now: float | None = None) -> str:
    now = time.time() if now is None else now
    return human_duration(now - created) + " ago"


def human_size(size: int) -> str:
    """Docker's units.HumanSize: decimal units, 4 significant digits ("2.489 MB", "0 B")."""
    if size < 1000:
        return f"{size} B"
    import humanize

    return humanize.naturalsize(size, format="%.4g")


def display_ports(ports: Sequence[PortSummary]) -> str:
    shown = []
    for port in sorted(ports, key=lambda p: p.public_port or 0):
        if port.ip:
            shown.append(f"{port.ip}:{port.public_port or 0}->{port.private_port}/{port.type}")
        else:
            shown.append(f"{port.private_port}/{port.type}")
    return ", ".join(shown)
