"""Attached sessions: the user's terminal on one side, a hijacked connection on the other.

Output is copied until the daemon closes the stream (raw for TTY containers,
demultiplexed otherwise); stdin, if attached, is copied by a thread and the
socket half-closed at EOF so the container sees its stdin end. Around that:
raw mode for the local tty (always restored), resize on start and SIGWINCH,
and signal proxying for non-TTY containers."""

from __future__ import annotations

import os
import select
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from pyctr.engine.client.streams import copy_raw, demux
from pyctr.engine.client.connection import Hijacked

from .context import Context

# Signals forwarded to a non-TTY container (docker forwards all but SIGCHLD,
# SIGKILL and SIGSTOP; these are the ones a user can send to a CLI in practice).
PROXIED_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2")


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _background(fn, *args) -> None:
    # Signal handlers must not block the main thread's stream copy on an HTTP call.
    threading.Thread(target=fn, args=args, daemon=True).start()


@contextmanager
def raw_terminal(fd: int | None) -> Iterator[None]:
    """Put the tty at `fd` in raw mode for the duration; restore it however we leave."""
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


# pyctr-shell sets this: at its prompt a second Ctrl-C leaves a proxied attach (the
# first went to the container, whose pid 1 may well ignore it) and gives the prompt back.
SECOND_INTERRUPT_DETACHES = False


@contextmanager
def proxy_signals(ctx: Context, container: str, enabled: bool = True) -> Iterator[None]:
    """Forward SIGINT, SIGTERM, ... to the container via POST /kill?signal=NAME."""
    if not enabled or not _in_main_thread():
        yield
        return
    interrupts = [0]

    def forward(signum: int, _frame) -> None:
        name = signal.Signals(signum).name[3:]  # "INT", as docker sent it
        if signum == signal.SIGINT and SECOND_INTERRUPT_DETACHES:
            interrupts[0] += 1
            if interrupts[0] > 1:
                ctx.err(f"\nDetached from {container}: the first Ctrl-C went to it, "
                        f"this one to pyctr-shell; it may still be running.\n")
                signal.default_int_handler(signum, _frame)

        def send() -> None:
            try:
                ctx.client.kill(container, name)
            except Exception as exc:  # noqa: BLE001 - a lost signal is reported, not fatal
                ctx.err(f"Error sending signal {name}: {exc}\n")

        _background(send)

    previous = {}
    for name in PROXIED_SIGNALS:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, forward)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def resize(ctx: Context, container: str, exec_id: str = "") -> None:
    fd = ctx.stdout_fd()
    if fd is None or not os.isatty(fd):
        return
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    try:
        if exec_id:
            ctx.client.exec_resize(exec_id, size.lines, size.columns)
        else:
            ctx.client.resize(container, size.lines, size.columns)
    except Exception as exc:  # noqa: BLE001 - a failed resize must not end the session
        if ctx.debug:
            ctx.err(f"Error resize: {exc}\n")


@contextmanager
def monitor_tty_size(ctx: Context, container: str, enabled: bool = True,
                     exec_id: str = "") -> Iterator[None]:
    """Send the terminal size (of the container, or of one exec in it) now and
    whenever it changes (SIGWINCH)."""
    if not enabled:
        yield
        return
    resize(ctx, container, exec_id)
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGWINCH, lambda *_: _background(resize, ctx, container, exec_id))
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _copy_stdin(ctx: Context, session: Hijacked, stop_fd: int) -> None:
    fd = ctx.stdin_fd()
    reader = None if fd is not None else ctx.stdin_bytes
    try:
        while True:
            # os.read on the fd, not sys.stdin.buffer: a daemon thread blocked in
            # a buffered read would hold its lock at interpreter exit.
            if fd is not None:
                # Also wait on the stop pipe: when the output ends first (the
                # container exited), this thread must not stay behind reading the
                # terminal, where it would swallow what the REPL's prompt reads next.
                ready, _, _ = select.select([fd, stop_fd], [], [])
                if stop_fd in ready:
                    break
                data = os.read(fd, 32768)
            else:
                read = getattr(reader, "read1", None) or reader.read
                data = read(32768)
            if not data:
                break
            session.send(data)
    except OSError:
        pass  # the connection went away: the output side will notice
    finally:
        os.close(stop_fd)
        session.close_write()


def pump(ctx: Context, session: Hijacked, tty: bool, stdin: bool) -> None:
    """Copy until the daemon ends the output stream."""
    copier = stop_w = None
    if stdin:
        stop_r, stop_w = os.pipe()
        copier = threading.Thread(target=_copy_stdin, args=(ctx, session, stop_r), daemon=True,
                                  name="pyctr-stdin")
        copier.start()
    try:
        if tty:
            copy_raw(session.read, ctx.out_bytes)
        else:
            demux(session.read, ctx.out_bytes, ctx.err_bytes)
    finally:
        if copier is not None:
            os.close(stop_w)  # EOF on the pipe wakes the stdin copier
            copier.join(1.0)
