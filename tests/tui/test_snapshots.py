"""Snapshot tests (pytest-textual-snapshot) of the screens whose content does not
depend on ids and clocks: the banner of an unreachable daemon over the empty
list, the run form and the help screen at 80x24, and NO_COLOR.
Update them after an intended change with `pytest tests/tui --snapshot-update`."""

from __future__ import annotations

from pyctr.tui.app import PyctrApp

from tui.helpers import until

NOWHERE = "unix:///nonexistent/pyctr.sock"


async def banner_shown(pilot) -> None:
    await until(pilot, lambda: pilot.app.last_error, what="the connection error")
    await pilot.pause()


def test_unreachable_daemon_banner(snap_compare):
    assert snap_compare(PyctrApp(NOWHERE), terminal_size=(80, 24), run_before=banner_shown)


def test_run_form_80x24(snap_compare):
    async def open_form(pilot) -> None:
        await banner_shown(pilot)
        pilot.app.action_run_form("busybox")
        await pilot.pause()
        await pilot.press(*"web")
    # typing goes to the image field; the form opens with the focus there
    assert snap_compare(PyctrApp(NOWHERE), terminal_size=(80, 24), run_before=open_form)


def test_help_screen(snap_compare):
    async def open_help(pilot) -> None:
        await banner_shown(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
    assert snap_compare(PyctrApp(NOWHERE), terminal_size=(80, 24), run_before=open_help)


def test_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(PyctrApp(NOWHERE), terminal_size=(80, 24), run_before=banner_shown)
