"""The "missing for daily work" screens of issue 23, driven with Pilot against a
real pyctrd and against a real Docker engine (the private dockerd; each test runs on
both, `engine`), checked with the docker CLI and the daemon's own answers: networks and
volumes, exec, bulk actions and prune, compose projects, merged logs, the command
log and published ports."""

from __future__ import annotations

import json
import os

import pytest

from pyctr.tui.app import PyctrApp
from pyctr.tui.dialogs import ConfirmScreen, InspectScreen
from pyctr.tui.resources import CreateScreen

from tui.helpers import row_named, select, sync, until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def names(engine, kind: str) -> set[str]:
    out = engine.docker(kind, "ls", "--format", "{{.Name}}").stdout.decode()
    return set(out.split())


def logged(app, what: str) -> list:
    return [e for e in app.command_log.entries if e.what.startswith(what)]


async def pick(pilot, view, key: str) -> None:
    await until(pilot, lambda: key in view.items and key in view.table.rows, what=f"row {key}")
    view.table.move_cursor(row=view.table.get_row_index(key))
    view.table.focus()
    await pilot.pause()


@sync
async def test_networks_tab_lists_inspects_creates_removes_and_prunes(engine):
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            await pilot.press("6")
            view = app._networks
            # the private dockerd runs with --bridge=none: no default bridge there
            defaults = {"host", "none"} | ({"bridge"} if getattr(engine, "name", "") != "dockerd" else set())
            await until(pilot, lambda: defaults <= set(view.items), what=f"default networks: {set(view.items)}")
            assert app.focused is view.table
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, CreateScreen))
            await pilot.press(*"t-net-a", "tab", "tab", *"10.231.7.0/24", "ctrl+s")
            await until(pilot, lambda: "t-net-a" in view.items, what="the new network's row")
            assert "t-net-a" in names(engine, "network")
            subnet = json.loads(engine.docker("network", "inspect", "t-net-a").stdout)[0]["IPAM"]["Config"]
            assert subnet[0]["Subnet"] == "10.231.7.0/24"
            await pick(pilot, view, "t-net-a")
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, InspectScreen))
            assert app.screen.data["Name"] == "t-net-a"
            await pilot.press("escape")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: "t-net-a" not in view.items, what="row gone")
            assert "t-net-a" not in names(engine, "network")
            # a bad create gets the daemon's message, in a notification and the command log
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, CreateScreen))
            await pilot.press(*"t-net-bad", "tab", *"nosuchdriver", "ctrl+s")
            await until(pilot, lambda: logged(app, "network create t-net-bad"))
            assert not logged(app, "network create t-net-bad")[0].ok
            assert "t-net-bad" not in names(engine, "network")
            # prune: made outside the TUI, shown by its event, removed by P
            engine.docker("network", "create", "t-net-unused")
            await until(pilot, lambda: "t-net-unused" in view.items, what="the event's reload")
            await pilot.press("P")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: "t-net-unused" not in view.items, what="pruned")
            (entry,) = logged(app, "network prune")
            assert entry.ok and "t-net-unused" in entry.result
            assert defaults <= names(engine, "network")
    finally:
        for name in ("t-net-a", "t-net-unused", "t-net-bad"):
            engine.docker("network", "rm", name, check=False)


@sync
async def test_volumes_tab_lists_inspects_creates_removes_and_prunes(engine):
    app = PyctrApp(engine.host)
    try:
        engine.docker("volume", "create", "t-vol-used")
        engine.docker("run", "-d", "--name", "t-vol-user", "-v", "t-vol-used:/data", "busybox", "sleep", "600")
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            await pilot.press("7")
            view = app._volumes
            await until(pilot, lambda: "t-vol-used" in view.items)
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, CreateScreen))
            await pilot.press(*"t-vol-a", "ctrl+s")
            await until(pilot, lambda: "t-vol-a" in view.items, what="the new volume's row")
            assert "t-vol-a" in names(engine, "volume")
            await pick(pilot, view, "t-vol-a")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, InspectScreen))
            assert app.screen.data["Name"] == "t-vol-a" and app.screen.data["Driver"] == "local"
            await pilot.press("escape")
            # in use: the daemon refuses, the row stays, the log says why
            await pick(pilot, view, "t-vol-used")
            await pilot.press("d", "y")
            await until(pilot, lambda: logged(app, "volume rm t-vol-used"))
            assert not logged(app, "volume rm t-vol-used")[0].ok and "t-vol-used" in view.items
            await pick(pilot, view, "t-vol-a")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: "t-vol-a" not in view.items, what="row gone")
            engine.docker("volume", "create", "t-vol-unused")
            await until(pilot, lambda: "t-vol-unused" in view.items)
            await pilot.press("P", "y")
            await until(pilot, lambda: "t-vol-unused" not in view.items, what="pruned")
            assert "t-vol-used" in view.items and "t-vol-used" in names(engine, "volume")
            (entry,) = logged(app, "volume prune")
            assert entry.ok and "t-vol-unused" in entry.result
    finally:
        engine.docker("rm", "-f", "t-vol-user", check=False)
        for name in ("t-vol-a", "t-vol-used", "t-vol-unused"):
            engine.docker("volume", "rm", name, check=False)


@sync
async def test_exec_a_shell_and_a_chosen_command_in_the_embedded_terminal(engine):
    from pyctr.tui.attachview import ExecView
    from pyctr.tui.dialogs import PromptScreen
    engine.docker("run", "-d", "--name", "t-exec", "busybox", "sleep", "600")
    cid = json.loads(engine.docker("inspect", "t-exec").stdout)[0]["Id"]
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            await select(pilot, app, "t-exec")
            await pilot.press("E")
            await until(pilot, lambda: isinstance(app.screen, PromptScreen))
            await pilot.press("enter")            # the default: sh
            await until(pilot, lambda: app.query(ExecView), what="exec pane")
            pane = app.query_one(ExecView)
            await until(pilot, lambda: pane.state == "attached" and pane.terminal.has_focus)
            assert app._tabs.active == "attach"
            await pilot.press(*"echo hi-$((6*7))", "enter")
            await until(pilot, lambda: "\nhi-42" in pane.terminal.text(),
                        what=f"the shell's answer: {pane.terminal.text()!r}")
            # the pty has the pane's size (resized through /exec/ID/resize)
            size = f"{pane.terminal.screen_.lines} {pane.terminal.screen_.columns}"
            await pilot.press(*"echo size=$(stty size)", "enter")
            await until(pilot, lambda: f"\nsize={size}" in pane.terminal.text(),
                        what=f"the pty's size {size}: {pane.terminal.text()!r}")
            await pilot.press(*"exit 3", "enter")
            await until(pilot, lambda: pane.exit_code == 3, what=f"exit code: {pane.state}")
            await pilot.press("w")   # the session is over: w is the pane's key again
            await until(pilot, lambda: not app.query(ExecView))
            # a chosen command
            await pilot.press("1")
            await select(pilot, app, "t-exec")
            await pilot.press("E")
            await until(pilot, lambda: isinstance(app.screen, PromptScreen))
            app.screen.query_one("#answer").value = "cat /etc/hostname"
            await pilot.press("enter")
            await until(pilot, lambda: app.query(ExecView))
            pane = app.query_one(ExecView)
            await until(pilot, lambda: pane.exit_code == 0, what=f"cat's end: {pane.state}")
            assert cid[:12] in pane.terminal.text()
            entries = [e for e in app.command_log.entries if e.what.startswith("exec t-exec")]
            assert [e.what for e in entries] == ["exec t-exec sh", "exec t-exec cat /etc/hostname"]
            assert all(e.ok for e in entries)
            # a stopped container: a clear message, no pane
            engine.docker("stop", "-t", "0", "t-exec")
            await until(pilot, lambda: row_named(app, "t-exec").state == "exited")
            await pilot.press("1")
            await select(pilot, app, "t-exec")
            before = len(app.query(ExecView))
            await pilot.press("E", "enter")
            await until(pilot, lambda: any("not running" in str(n.message) for n in app._notifications))
            assert len(app.query(ExecView)) == before
    finally:
        engine.docker("rm", "-f", "t-exec", check=False)


def state(engine, name: str) -> str:
    out = engine.docker("inspect", "--format", "{{.State.Status}}", name, check=False)
    return out.stdout.decode().strip() if out.returncode == 0 else "gone"


async def mark(pilot, app, *names: str) -> None:
    for name in names:
        await select(pilot, app, name)
        await pilot.press("space")
    await until(pilot, lambda: {row_named(app, n).id for n in names} <= app.containers_view.marked)


@sync
async def test_bulk_stop_restart_remove_of_marked_containers_and_prune(engine):
    bulk = ["t-bulk-1", "t-bulk-2", "t-bulk-3", "t-bulk-keep"]
    for name in bulk:   # a TERM ends them at once (a plain sleep as pid 1 waits for the KILL)
        engine.docker("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            view = app.containers_view
            await mark(pilot, app, "t-bulk-1", "t-bulk-2")
            shown = "".join(s.text for s in view.table.render_line(
                view.table.get_row_index(row_named(app, "t-bulk-1").id) + 1))
            assert "● t-bulk-1" in shown
            await pilot.press("x")
            await until(pilot, lambda: [state(engine, n) for n in bulk[:2]] == ["exited"] * 2, timeout=30,
                        what="both stopped")
            assert state(engine, "t-bulk-keep") == "running" and not view.marked   # marks end with the action
            await until(pilot, lambda: not row_named(app, "t-bulk-1").running)
            await mark(pilot, app, "t-bulk-1", "t-bulk-2")
            await pilot.press("r")
            await until(pilot, lambda: [state(engine, n) for n in bulk[:2]] == ["running"] * 2, timeout=30)
            await until(pilot, lambda: row_named(app, "t-bulk-2").running)
            await mark(pilot, app, "t-bulk-1", "t-bulk-2")
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "Remove 2 containers? 2 running" in app.screen.question
            await pilot.press("y")
            await until(pilot, lambda: [state(engine, n) for n in bulk[:2]] == ["gone"] * 2, timeout=30)
            assert state(engine, "t-bulk-3") == "running"
            # prune: the stopped ones go, the running stay
            engine.docker("stop", "-t", "0", "t-bulk-3")
            await until(pilot, lambda: row_named(app, "t-bulk-3") and not row_named(app, "t-bulk-3").running)
            await pilot.press("P")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(pilot, lambda: state(engine, "t-bulk-3") == "gone", what="pruned")
            await until(pilot, lambda: row_named(app, "t-bulk-3") is None)
            assert state(engine, "t-bulk-keep") == "running"
            # a row goes on its destroy event, which may come before the action's answer is logged
            await until(pilot, lambda: [e for e in app.command_log.entries if e.what == "container prune"],
                        what="the prune logged")
            (entry,) = [e for e in app.command_log.entries if e.what == "container prune"]
            assert entry.ok and entry.result.startswith("removed ")
            await until(pilot, lambda: sorted(e.what for e in app.command_log.entries if e.what.startswith("remove "))
                        == ["remove t-bulk-1", "remove t-bulk-2"], what="the removes logged")
    finally:
        for name in bulk:
            engine.docker("rm", "-f", name, check=False)


COMPOSE = """\
version: '2'
services:
  web:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; i=0; while :; do echo "web line $$i"; i=$$((i+1)); sleep 0.2; done'
    network_mode: none
  worker:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; i=0; while :; do echo "worker line $$i"; i=$$((i+1)); sleep 0.2; done'
    network_mode: none
"""


@sync
async def test_compose_projects_grouped_with_up_down_restart_and_merged_logs(engine, tmp_path):
    import subprocess
    from pyctr.tui.containers import PROJECT_KEY
    from pyctr.tui.dialogs import ChoiceScreen
    from pyctr.tui.logview import MergedLogView
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    env = {**engine.env(), "COMPOSE_PROJECT_NAME": "tproj"}

    def compose(*args):
        return subprocess.run(["docker-compose", *args], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    up = compose("up", "-d", "--no-color")
    assert up.returncode == 0, up.stderr
    engine.docker("run", "-d", "--name", "t-loner", "busybox", "sleep", "600")
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            view = app.containers_view
            await until(pilot, lambda: len(view.project_rows("tproj")) == 2)
            assert {r.service for r in view.project_rows("tproj")} == {"web", "worker"}
            await pilot.press("g")
            keys = [k.value for k in view.table.rows]
            header = keys.index(PROJECT_KEY + "tproj")
            members = {r.id for r in view.project_rows("tproj")}
            assert set(keys[header + 1:header + 3]) == members   # its containers right under it
            assert row_named(app, "t-loner").id not in keys[header:header + 3]
            view.table.move_cursor(row=header)
            view.table.focus()
            # merged logs of the project: both services, each line after its source
            await pilot.press("L")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            assert [c[0] for c in app.screen.choices] == ["project", "all"]
            await pilot.press("enter")
            await until(pilot, lambda: app.query(MergedLogView))
            pane = app.query_one(MergedLogView)
            await until(pilot, lambda: {line.source for line in pane.buffer} ==
                        {r.name for r in view.project_rows("tproj")}, what="lines of both")
            web = next(r.name for r in view.project_rows("tproj") if r.service == "web")
            line = next(line for line in pane.buffer if line.source == web)
            assert line.text.startswith("web line ")
            drawn = [strip.text for strip in pane.log_widget.lines]
            assert any(t.startswith(f"{web:<{pane.source_width}} │ web line") for t in drawn), drawn[:5]
            assert "project tproj" in pane._header_text()
            # down, from the header in the list: stop + remove both, the other container stays
            await pilot.press("1")
            view.table.move_cursor(row=[k.value for k in view.table.rows].index(PROJECT_KEY + "tproj"))
            view.table.focus()
            await pilot.press("x")    # a plain stop on the header stops the project
            await until(pilot, lambda: not any(r.running for r in view.project_rows("tproj")), timeout=30)
            await pilot.press("U")
            await until(pilot, lambda: all(r.running for r in view.project_rows("tproj")), timeout=30,
                        what="project up")
            started = {r.id: engine.client().inspect_container(r.id)["State"]["StartedAt"]
                       for r in view.project_rows("tproj")}
            await pilot.press("R")
            await until(pilot, lambda: all(engine.client().inspect_container(cid)["State"]["StartedAt"] != at
                                           for cid, at in started.items()), timeout=30, what="restarted")
            await pilot.press("D")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what=(
                f"the question: {[n.message for n in app._notifications]} {app.focused} {view.selected_id()!r}"))
            await pilot.press("y")
            await until(pilot, lambda: not view.project_rows("tproj"), timeout=30, what="project down")
            assert not [c for c in engine.client().containers(all=True)
                        if c.labels.get("com.docker.compose.project") == "tproj"]
            assert state(engine, "t-loner") == "running"
            # the rows go on the destroy events, which may come before the removes' answers
            def downs() -> list[str]:
                return [e.what for e in app.command_log.entries if e.what.startswith("project tproj down")]
            await until(pilot, lambda: sum("remove" in w for w in downs()) == 2, what=f"the removes logged: {downs()}")
            assert sum("stop" in w for w in downs()) == 2
    finally:
        compose("down")
        engine.docker("rm", "-f", "t-loner", check=False)


@sync
async def test_merged_logs_of_marked_containers_and_the_command_log_tab(engine):
    from pyctr.tui.dialogs import ChoiceScreen
    from pyctr.tui.logview import MergedLogView
    for name in ("t-ml-a", "t-ml-b"):
        engine.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                      f"trap 'exit 0' TERM; i=0; while :; do echo {name}-$i; echo {name}-err-$i >&2; i=$((i+1)); sleep 0.2; done")
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            await mark(pilot, app, "t-ml-a", "t-ml-b")
            await pilot.press("L")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            assert app.screen.choices[0] == ("marked", "the 2 marked containers")
            await pilot.press("enter")
            await until(pilot, lambda: app.query(MergedLogView))
            pane = app.query_one(MergedLogView)
            await until(pilot, lambda: {(l.source, l.stream) for l in pane.buffer} >=
                        {("t-ml-a", 1), ("t-ml-a", 2), ("t-ml-b", 1), ("t-ml-b", 2)}, what="both streams of both")
            assert all(l.text.startswith(l.source) for l in pane.buffer)
            assert app._tabs.active == "logs" and pane.log_widget.has_focus
            # the command log: an action that worked and one the daemon refused
            await pilot.press("1")
            await select(pilot, app, "t-ml-a")
            await pilot.press("x")
            await until(pilot, lambda: [e for e in app.command_log.entries if e.what == "stop t-ml-a"],
                        what=f"logged stop: {app.command_log.entries} {[n.message for n in app._notifications]} {app.focused}")
            await until(pilot, lambda: not row_named(app, "t-ml-a").running)
            await select(pilot, app, "t-ml-a")
            await pilot.press("p")     # pause a stopped container: refused
            await until(pilot, lambda: [e for e in app.command_log.entries if e.what == "pause t-ml-a"])
            await pilot.press("8")
            assert app._tabs.active == "commands" and app.focused is app.command_log
            await pilot.pause()
            drawn = " ".join(strip.text.strip() for strip in app.command_log.lines)
            assert "ok    stop t-ml-a" in drawn, drawn
            assert "error pause t-ml-a Container" in drawn and "is not running" in drawn, drawn
    finally:
        for name in ("t-ml-a", "t-ml-b"):
            engine.docker("rm", "-f", name, check=False)


@sync
async def test_published_ports_urls_shown_and_copied(engine):
    import urllib.request
    from pyctr.tui.dialogs import ChoiceScreen
    # a network of the test's own (the private dockerd has no default bridge)
    engine.docker("network", "create", "--subnet", "10.231.9.0/24", "t-url-net")
    engine.docker("run", "-d", "--name", "t-url", "--network", "t-url-net", "-p", "127.0.0.1::8080",
                  "busybox", "httpd", "-f", "-p", "8080", "-h", "/etc")
    port = engine.docker("port", "t-url", "8080").stdout.decode().split(":")[-1].strip()
    app = PyctrApp(engine.host)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.connected)
            await until(pilot, lambda: row_named(app, "t-url") and row_named(app, "t-url").port_urls)
            assert row_named(app, "t-url").port_urls == [f"http://127.0.0.1:{port}"]
            await select(pilot, app, "t-url")
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("enter")
            await until(pilot, lambda: app.clipboard == f"http://127.0.0.1:{port}")
            # the URL is the container's server
            with urllib.request.urlopen(app.clipboard + "/hostname", timeout=10) as resp:
                assert resp.status == 200
    finally:
        engine.docker("rm", "-f", "t-url", check=False)
        engine.docker("network", "rm", "t-url-net", check=False)
