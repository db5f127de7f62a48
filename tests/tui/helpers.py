"""Driving pyctr-tui in tests: wait for a condition while the app runs."""

from __future__ import annotations

import contextlib
import time
from typing import Callable

from pyctr.tui.app import PyctrApp


async def until(pilot, condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds
    (a limit for a test that would hang, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def notifications(app: PyctrApp) -> list[str]:
    return [n.message for n in app._notifications]


def row_named(app: PyctrApp, name: str):
    for row in app.containers_view.rows.values():
        if row.name == name:
            return row
    return None


async def select(pilot, app: PyctrApp, name: str) -> None:
    """Put the list's cursor on container `name`."""
    view = app.containers_view
    await until(pilot, lambda: row_named(app, name) is not None and
                row_named(app, name).id in view.table.rows, what=f"row {name}")
    view.table.move_cursor(row=view.table.get_row_index(row_named(app, name).id))
    view.table.focus()
    await pilot.pause()


def sync(test):
    """Run an async test on its own event loop (no pytest-asyncio needed)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return run


def burst(app: PyctrApp, *keys: str) -> None:
    """Queue key presses all at once, as a terminal delivers fast typing in one read
    (Pilot's `press` waits for each key to be handled, which hides ordering races).
    Each argument is a key name ("tab", "ctrl+s") or, longer than that, text to type."""
    from textual import events
    from textual.keys import _character_to_key
    for key in keys:
        if key in ("tab", "shift+tab", "enter", "escape") or key.startswith("ctrl+"):
            app.post_message(events.Key(key, {"tab": "\t", "enter": "\r", "escape": "\x1b"}.get(key)))
            continue
        for char in key:
            app.post_message(events.Key(_character_to_key(char), char))


@contextlib.asynccontextmanager
async def running(host: str, size: tuple[int, int] = (120, 30), config_path: str | None = None):
    """pyctr-tui on `host` under Pilot, once it has connected: `async with running(...) as (app, pilot)`."""
    app = PyctrApp(host, config_path)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.connected, what="the connection")
        yield app, pilot


async def run_form(pilot, app: PyctrApp, **fields: str):
    """Open the run form (`n`) and fill its fields (image, name, command, env, ports, volumes)."""
    from pyctr.tui.dialogs import RunScreen
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, RunScreen), what="the run form")
    form = app.screen
    for wid, value in fields.items():
        form.query_one(f"#{wid}").value = value
    return form


def run_loggers(daemon, names: list[str]) -> None:
    """A container per name that writes a line a second."""
    for name in names:
        daemon.pyctr("run", "-d", "--name", name, "busybox", "sh", "-c", "while :; do echo x; sleep 1; done")


async def open_log_pane(pilot, app: PyctrApp, name: str):
    """Select container `name`, press l, and give the log pane that opens."""
    from pyctr.tui.logview import LogView
    await select(pilot, app, name)
    await pilot.press("l")
    await until(pilot, lambda: app.query(LogView), what="log pane")
    return app.query_one(LogView)
