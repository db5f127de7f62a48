"""Driving pyctr-tui in tests: wait for a condition while the app runs."""

from __future__ import annotations

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
