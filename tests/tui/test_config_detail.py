"""pyctr-tui's config file (theme, keys, custom commands; a bad file's problems by line)
and the detail screen (one container's live stats above its log tail), driven with
Pilot against a real pyctrd."""

from __future__ import annotations

import os
import textwrap

import pytest
from rich.console import Console

from pyctr.tui.app import main
from pyctr.tui.customcommand import CommandOutputScreen
from pyctr.tui.detail import DetailScreen
from pyctr.tui.dialogs import MessageScreen

from tui.helpers import row_named, running, select, sync, until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

GOOD = """\
theme = "nord"

[keys.containers]
stop = "X"

[keys.app]
tab_images = "f2"

[[commands]]
key = "H"
name = "status by docker"
command = "echo name={name} id={short_id}; docker ps --filter name={name} --format '{{{{.Names}}}} {{{{.Image}}}}'; exit 3"
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "tui.toml"
    path.write_text(textwrap.dedent(text))
    return str(path)


@sync
async def test_config_file_theme_keys_and_a_custom_command(daemon, cleanup, tmp_path):
    cleanup.append("t-cfg")
    daemon.pyctr("run", "-d", "--name", "t-cfg", "busybox", "sleep", "600")
    async with running(daemon.host, (120, 30), write(tmp_path, GOOD)) as (app, pilot):
        assert app.tui_config.problems == [] and app.theme == "nord"
        await select(pilot, app, "t-cfg")
        # the custom command: the container's values in it, DOCKER_HOST is the TUI's daemon,
        # its output on screen and its exit code visible, and in the command log
        await pilot.press("H")
        await until(pilot, lambda: isinstance(app.screen, CommandOutputScreen), what="the output screen")
        screen = app.screen
        await until(pilot, lambda: screen.exit_code is not None, what="the command's end")
        row = row_named(app, "t-cfg")
        assert screen.output == [f"name=t-cfg id={row.short_id}", "t-cfg busybox"], screen.output
        assert screen.exit_code == 3
        assert "exit code 3" in str(screen.query_one("#exit").render())
        entry = app.command_log.entries[-1]
        assert not entry.ok and entry.result == "exit code 3" and "status by docker on t-cfg" in entry.what
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CommandOutputScreen))
        # a remapped app key and a remapped container key
        await pilot.press("f2")
        assert app._tabs.active == "images"
        await pilot.press("1")
        await select(pilot, app, "t-cfg")
        await pilot.press("x")   # no longer stop's key
        await pilot.press("X")
        await until(pilot, lambda: row_named(app, "t-cfg").state == "exited", what="stopped by X")
        assert [e.what for e in app.command_log.entries if e.what.startswith("stop ")] == ["stop t-cfg"]


BAD = """\
theme = "no-such-theme"

[keys.containers]
stop = "X"
stpo = "Y"
logs = "ctrl+nothing"
start = "r"

[keys.nope]
x = "y"

[[commands]]
key = "J"
command = "echo {nam}"
"""


@sync
async def test_a_bad_config_file_says_which_line_is_wrong_and_keeps_the_rest(daemon, cleanup, tmp_path):
    cleanup.append("t-badcfg")
    daemon.pyctr("run", "-d", "--name", "t-badcfg", "busybox", "sleep", "600")
    path = write(tmp_path, BAD)
    async with running(daemon.host, (120, 30), path) as (app, pilot):
        await until(pilot, lambda: isinstance(app.screen, MessageScreen), what="the problems")
        shown = str(app.screen.query_one("#lines").render())
        for line, key, words in [(1, "theme", "unknown theme 'no-such-theme'"),
                                 (5, "keys.containers.stpo", "no such action in containers"),
                                 (6, "keys.containers.logs", "not a key name: 'ctrl+nothing'"),
                                 (7, "keys.containers.start", "'r' is already the key of containers.restart"),
                                 (9, "keys.nope", "unknown scope"),
                                 (14, "commands[1].command", "unknown placeholder {nam}")]:
            assert f"{path}:{line}: {key}: {words}" in shown, (line, shown)
        assert sum(1 for e in app.command_log.entries if e.what == "config" and not e.ok) == 6
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MessageScreen))
        # the good entry applies; the bad ones keep their defaults
        await select(pilot, app, "t-badcfg")
        await pilot.press("X")
        await until(pilot, lambda: row_named(app, "t-badcfg").state == "exited", what="stopped by X")
        await pilot.press("s")
        await until(pilot, lambda: row_named(app, "t-badcfg").state == "running", what="started by s")


@sync
async def test_a_config_file_that_is_not_toml(daemon, tmp_path):
    path = write(tmp_path, "theme = nord\n")
    async with running(daemon.host, (100, 24), path) as (app, pilot):
        await until(pilot, lambda: isinstance(app.screen, MessageScreen))
        shown = str(app.screen.query_one("#lines").render())
        assert "not valid TOML" in shown and "line 1" in shown, shown


def test_config_option_and_env_var(tmp_path, monkeypatch, capsys):
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such file" in capsys.readouterr().err
    from pyctr.tui import config
    monkeypatch.setenv("PYCTR_TUI_CONFIG", "/somewhere/tui.toml")
    assert config.default_path() == "/somewhere/tui.toml"
    monkeypatch.delenv("PYCTR_TUI_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.default_path() == str(tmp_path / "pyctr" / "tui.toml")


@sync
async def test_detail_screen_shows_live_stats_and_the_log_tail(daemon, cleanup):
    cleanup.append("t-detail")
    daemon.pyctr("run", "-d", "--name", "t-detail", "busybox", "sh", "-c",
                 "i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.2; done")
    async with running(daemon.host, (120, 36)) as (app, pilot):
        await select(pilot, app, "t-detail")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail screen")
        screen = app.screen
        await until(pilot, lambda: screen.readings >= 2, what="two stats readings")
        first = max(int(line.text[4:]) for line in screen.logs.buffer if line.text.startswith("tick"))
        await until(pilot, lambda: any(line.text == f"tick{first + 3}" for line in screen.logs.buffer),
                    what="log lines written while the screen is open")
        assert screen.logs.log_widget.lines and screen.logs.log_widget.has_focus
        console = Console(width=120, record=True, file=open(os.devnull, "w"))
        console.print(screen.stats_table())
        drawn = console.export_text()
        for label in ("CPU", "MEM", "NET I/O", "BLOCK I/O", "PIDS"):
            assert label in drawn, drawn
        assert int(screen.last.PIDs) >= 1 and "/ " in screen.last.MemUsage
        assert screen.readings >= 2 and len(screen.cpu) == screen.readings
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        assert app.focused is app.containers_view.table
