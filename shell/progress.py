"""Show a JSON message stream (pull, push, import, build, load, events) as Docker 1.2 did.

In a terminal, messages with a progress bar for the same `id` rewrite that id's
line in place (cursor up, erase, redraw); elsewhere progress updates are dropped
and every other message is one line. A message with `error` ends the stream
with a StreamError."""

from __future__ import annotations

from typing import Any, Iterable, TextIO

from pyctr.engine.client.errors import StreamError

from .render import message_line


def display_messages(messages: Iterable[dict[str, Any]], out: TextIO, is_terminal: bool) -> None:
    lines: dict[str, int] = {}
    diff = 0  # kept across messages as Docker's loop kept it
    for msg in messages:
        if msg.get("error") or msg.get("errorDetail"):
            detail = msg.get("errorDetail") or {}
            code = int(detail.get("code") or 0)
            text = detail.get("message") or msg.get("error") or "unknown error"
            if code == 401:
                text = "Authentication is required."
            raise StreamError(text, code)
        ident = msg.get("id") or ""
        if ident and (msg.get("progressDetail") is not None or msg.get("progress")):
            if ident not in lines:
                lines[ident] = len(lines)
                if is_terminal:
                    out.write("\n")
                diff = 0
            else:
                diff = len(lines) - lines[ident]
            if is_terminal:
                out.write(f"\x1b[{diff}A")
        line = message_line(msg, is_terminal)
        if line:
            out.write(line)
        if ident and is_terminal:
            out.write(f"\x1b[{diff}B")
        out.flush()


def show_stream(ctx, resp) -> None:
    """Print a streamed response: JSON messages rendered, anything else copied raw."""
    from pyctr.engine.client.streams import copy_raw, json_messages

    with resp:
        if resp.is_json:
            display_messages(json_messages(resp.chunks()), ctx.stdout, ctx.stdout_is_tty)
        else:
            copy_raw(resp.read, ctx.out_bytes)
