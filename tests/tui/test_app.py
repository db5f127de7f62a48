"""pyctr-tui driven with Textual's Pilot against a real pyctrd: the live list,
the image tree, log tails, attach panes, failed actions, bad input, and a
daemon that goes away and comes back."""

from __future__ import annotations

import os

import pytest

from pyctr.tui import imagetree
from pyctr.tui.app import PyctrApp
from pyctr.tui.attachview import AttachView
from pyctr.tui.dialogs import RunScreen
from pyctr.tui.logview import BUFFER, LogView
from pyctr.tui.terminal import TerminalView

from tui.helpers import (notifications, open_log_pane, row_named, run_form, run_loggers, running, select,
                         sync, until)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")




@sync
async def test_list_follows_events_without_relisting(daemon, cleanup):
    cleanup.append("t-live")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        view = app.containers_view
        daemon.pyctr("run", "-d", "--name", "t-live", "busybox", "sh", "-c", "sleep 1; exit 3")
        await until(pilot, lambda: row_named(app, "t-live") is not None
                    and row_named(app, "t-live").state == "running", what="running row")
        await until(pilot, lambda: row_named(app, "t-live").state == "exited", what="exited row")
        row = row_named(app, "t-live")
        assert row.exit_code == 3
        assert row.status().startswith("Exited (3)")
        await until(pilot, lambda: view.table.get_cell(row.id, "status").plain.startswith("Exited (3)"),
                    what="the table's cell")
        daemon.pyctr("rm", "t-live")
        await until(pilot, lambda: row_named(app, "t-live") is None, what="row removed")
        assert app.connections == 1   # one listing at connection; the rest came from events


@sync
async def test_filter_sort_and_all_toggle(daemon, cleanup):
    cleanup += ["t-filter-run", "t-filter-done"]
    daemon.pyctr("run", "-d", "--name", "t-filter-run", "busybox", "sleep", "60")
    daemon.pyctr("run", "--name", "t-filter-done", "busybox", "true")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        view = app.containers_view
        await until(pilot, lambda: {"t-filter-run", "t-filter-done"} <= {r.name for r in view.visible_rows()})
        await pilot.press("a")   # running only
        assert "t-filter-done" not in {r.name for r in view.visible_rows()}
        await pilot.press("a")
        await pilot.press("slash", *"filter-d")
        await until(pilot, lambda: [r.name for r in view.visible_rows()] == ["t-filter-done"])
        await pilot.press("escape")
        assert view.filter_text == ""
        await pilot.press("o")   # created -> name
        assert view.sort_name == "name"
        names = [r.name for r in view.visible_rows()]
        assert names == sorted(names)


@sync
async def test_image_tree_matches_pyctr_images_tree(daemon):
    daemon.pyctr("tag", "busybox", "tui-tree:second")
    try:
        cid = daemon.pyctr("run", "-d", "busybox", "sh", "-c", "echo x > /f").stdout.decode().strip()
        daemon.pyctr("wait", cid)
        commit = daemon.pyctr("commit", cid, "tui-child:1", check=False)
        daemon.pyctr("rm", cid, check=False)
        expected = daemon.pyctr("images", "--tree").stdout.decode().splitlines()
        async with running(daemon.host, (120, 30)) as (app, pilot):
            view = app.images_view
            await until(pilot, lambda: imagetree.lines(view.forest) == expected,
                        what=f"tree {expected}")
            # the Tree widget holds the same nodes, depth first, in the same order
            shown = []

            def walk(node, depth):
                for child in node.children:
                    shown.append((depth, child.data.image.id[:12]))
                    walk(child, depth + 1)
            walk(view.image_tree.root, 0)
            assert [i for _, i in shown] == [line.split("─", 1)[1].split()[0] for line in expected]
            if commit.returncode == 0:
                assert any(depth == 1 for depth, _ in shown)   # the committed child
    finally:
        daemon.pyctr("rmi", "tui-tree:second", check=False)
        daemon.pyctr("rmi", "tui-child:1", check=False)


@sync
async def test_log_tail_shows_lines_written_after_it_opened(daemon, cleanup):
    cleanup.append("t-logs")
    daemon.pyctr("run", "-d", "--name", "t-logs", "busybox", "sh", "-c",
                 "i=0; while :; do echo out$i; echo err$i >&2; i=$((i+1)); sleep 0.1; done")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        pane = await open_log_pane(pilot, app, "t-logs")
        await until(pilot, lambda: pane.buffer, what="first lines")
        first = max(int(line.text[3:]) for line in pane.buffer if line.text.startswith("out"))
        await until(pilot, lambda: any(line.text == f"out{first + 5}" for line in pane.buffer),
                    what="a line written after the pane opened")
        assert any(line.stream == 2 and line.text.startswith("err") for line in pane.buffer)
        assert all(line.stamp for line in pane.buffer)   # fetched with timestamps
        await pilot.press("t")
        assert pane.show_stamps
        await pilot.press("p")
        assert pane.paused and not pane.log_widget.auto_scroll
        await pilot.press("slash", *"err1", "enter")
        assert pane.pattern == "err1"
        await pilot.press("w")
        await until(pilot, lambda: not app.query(LogView), what="pane closed")


@sync
async def test_flooding_container_keeps_the_buffer_bounded(daemon, cleanup):
    cleanup.append("t-flood")
    daemon.pyctr("run", "-d", "--name", "t-flood", "busybox", "sh", "-c",
                 "while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz; done")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        pane = await open_log_pane(pilot, app, "t-flood")
        await until(pilot, lambda: pane.total > 3 * BUFFER, timeout=60, what="a flood")
        assert len(pane.buffer) == BUFFER
        assert len(pane.log_widget.lines) <= BUFFER
        # the UI still answers keys (on a loaded machine, a while after the press returns)
        await pilot.press("t")
        await until(pilot, lambda: pane.show_stamps, what="time stamps after 't'")
        await pilot.press("1")
        await until(pilot, lambda: app.query_one("TabbedContent").active == "containers",
                    what="the containers tab after '1'")


@sync
async def test_attach_pane_runs_a_command_in_sh(daemon, cleanup):
    cleanup.append("t-sh")
    daemon.pyctr("run", "-d", "-i", "-t", "--name", "t-sh", "busybox", "sh")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        await select(pilot, app, "t-sh")
        await pilot.press("e")
        await until(pilot, lambda: app.query(AttachView) and app.query_one(AttachView).state == "attached")
        term = app.query_one(TerminalView)
        await until(pilot, lambda: term.has_focus, what="terminal focus")
        await pilot.press(*"echo hel''lo-$((6*7))", "enter")
        await until(pilot, lambda: "hello-42" in term.text(), what=f"output; screen:\n{term.text()}")
        # the pty has the pane's size, and follows a resize of the terminal
        await pilot.press(*"stty size", "enter")
        size = f"{term.screen_.lines} {term.screen_.columns}"
        await until(pilot, lambda: size in term.text(), what=f"stty {size}; screen:\n{term.text()}")
        await pilot.resize_terminal(90, 26)
        await until(pilot, lambda: (term.screen_.lines, term.screen_.columns) != tuple(map(int, size.split())))
        await pilot.pause(0.5)   # the resize is sent after a short delay
        await pilot.press("ctrl+l", *"stty size", "enter")
        size2 = f"{term.screen_.lines} {term.screen_.columns}"
        await until(pilot, lambda: size2 in term.text(), what=f"stty {size2}; screen:\n{term.text()}")
        # Ctrl-Q alone goes to the container; Ctrl-P Ctrl-Q detaches and closes the pane
        await pilot.press("ctrl+p", "ctrl+q")
        await until(pilot, lambda: not app.query(AttachView), what="detached")
        assert app.is_running
    assert daemon.client().inspect_container("t-sh")["State"]["Running"]


@sync
async def test_attach_pane_says_when_the_container_is_removed(daemon, cleanup):
    cleanup.append("t-gone")
    daemon.pyctr("run", "-d", "-i", "--name", "t-gone", "busybox", "cat")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        await select(pilot, app, "t-gone")
        await pilot.press("e")
        await until(pilot, lambda: app.query(AttachView) and app.query_one(AttachView).state == "attached")
        pane = app.query_one(AttachView)
        await pilot.press("i", *"ping-line", "enter")   # non-TTY: i, a line of stdin, echoed by cat
        log = pane.query_one("RichLog")
        await until(pilot, lambda: any("ping-line" in strip.text for strip in log.lines), what="cat echo")
        daemon.pyctr("rm", "-f", "t-gone")
        await until(pilot, lambda: pane.state.startswith("ended"), what="pane ended")
        await until(pilot, lambda: row_named(app, "t-gone") is None)


@sync
async def test_failed_action_shows_the_daemons_message(daemon, cleanup):
    cleanup.append("t-fail")
    daemon.pyctr("run", "--name", "t-fail", "busybox", "true")
    expected = ""
    try:
        daemon.client().pause(daemon.client().inspect_container("t-fail")["Id"])   # as the TUI asks
    except Exception as exc:   # the daemon's own words for it
        expected = str(exc)
    assert expected
    async with running(daemon.host, (100, 30)) as (app, pilot):
        await select(pilot, app, "t-fail")
        await pilot.press("p")
        await until(pilot, lambda: expected in notifications(app), what=f"{expected!r} in {notifications(app)}")
        await pilot.press("e")   # attach to a stopped container: said, not attempted
        await until(pilot, lambda: any("start it first" in n for n in notifications(app)))


@sync
async def test_kill_with_a_chosen_signal_and_remove_with_confirmation(daemon, cleanup):
    cleanup.append("t-kill")
    daemon.pyctr("run", "-d", "--name", "t-kill", "busybox", "sh", "-c",
                 "trap 'exit 42' TERM; while :; do sleep 0.1; done")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        await select(pilot, app, "t-kill")
        await pilot.press("k")
        await pilot.press("down", "enter")   # the second signal: TERM
        await until(pilot, lambda: row_named(app, "t-kill").state == "exited")
        assert row_named(app, "t-kill").exit_code == 42   # its TERM trap ran
        await pilot.press("d")
        await pilot.press("n")   # no: nothing happens
        await pilot.pause(0.3)
        assert row_named(app, "t-kill") is not None
        await pilot.press("d", "y")
        await until(pilot, lambda: row_named(app, "t-kill") is None)


@sync
async def test_run_form_checks_input_and_runs(daemon, cleanup):
    cleanup.append("t-form")
    before = len(daemon.client().containers(all=True))
    async with running(daemon.host, (80, 24)) as (app, pilot):
        form = await run_form(pilot, app, image="busybox", name="t-form",
                              command="sh -c 'echo from-form; sleep 30'", ports="1:2:3:4")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, RunScreen)   # refused, with the CLI's message
        assert "ip:hostPort:containerPort" in str(form.query_one("#error").render())
        assert len(daemon.client().containers(all=True)) == before
        form.query_one("#ports").value = ""
        await pilot.press("ctrl+s")
        await until(pilot, lambda: row_named(app, "t-form") is not None
                    and row_named(app, "t-form").running, what="the new container")


@sync
async def test_run_form_shows_the_daemons_refusal(daemon):
    async with running(daemon.host, (80, 24)) as (app, pilot):
        app.action_run_form("no-such-image:nope")
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("no-such-image" in n for n in notifications(app)),
                    what=f"the daemon's message in {notifications(app)}")


@sync
async def test_inspect_and_top_and_help(daemon, cleanup):
    cleanup.append("t-top")
    daemon.pyctr("run", "-d", "--name", "t-top", "busybox", "sleep", "600")
    async with running(daemon.host, (80, 24)) as (app, pilot):
        await select(pilot, app, "t-top")
        await pilot.press("i")
        await until(pilot, lambda: type(app.screen).__name__ == "InspectScreen")
        await pilot.press("slash", *"sleep", "enter")
        assert app.screen.matches
        await pilot.press("escape")
        await pilot.press("t")
        await until(pilot, lambda: type(app.screen).__name__ == "TopScreen")
        table = app.screen.query_one("DataTable")
        await until(pilot, lambda: table.row_count == 1, what="the sleep process")
        assert any("sleep 600" in str(cell) for cell in table.get_row_at(0))
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await pilot.press("escape")


@sync
async def test_image_actions_tag_and_refused_remove(daemon, cleanup):
    cleanup.append("t-uses")
    daemon.pyctr("tag", "busybox", "tui-rm:1")
    try:
        daemon.pyctr("run", "-d", "--name", "t-uses", "tui-rm:1", "sleep", "600")
        async with running(daemon.host, (100, 30)) as (app, pilot):
            await pilot.press("2")
            view = app.images_view
            await until(pilot, lambda: view.image_tree.cursor_node is not None and view.image_tree.cursor_node.data)
            await pilot.press("g", *"tui-tagged:v1", "enter")
            await until(pilot, lambda: any("tui-tagged:v1" in n.tags for r in view.forest for n in r.walk()))
            # busybox's layer is used by a running container: rmi -f refused... plain rmi of
            # a tag only untags, so try to remove by id, which the daemon refuses
            node = view.image_tree.cursor_node.data
            app.api_action("remove image", app.client.remove_image(node.image.id))
            await until(pilot, lambda: any("conflict" in n.lower() or "in use" in n.lower()
                                           or "being used" in n.lower() or "unable" in n.lower()
                                           for n in notifications(app)),
                        what=f"the daemon's refusal in {notifications(app)}")
    finally:
        daemon.pyctr("rm", "-f", "t-uses", check=False)
        daemon.pyctr("rmi", "tui-rm:1", check=False)
        daemon.pyctr("rmi", "tui-tagged:v1", check=False)


@sync
async def test_daemon_restart_shows_banner_and_reconnects(fresh_daemon):
    d = fresh_daemon()
    async with running(d.host, (80, 24)) as (app, pilot):
        banner = app.query_one("#banner")
        assert not banner.display
        d.stop()
        await until(pilot, lambda: not app.connected and banner.display, what="banner")
        assert "pyctr daemon" in str(banner.render())
        d2 = fresh_daemon(d.workdir)
        await until(pilot, lambda: app.connected and app.connections == 2, what="reconnection")
        assert not banner.display
        d2.pyctr("run", "-d", "--name", "after", "busybox", "sleep", "60")
        await until(pilot, lambda: row_named(app, "after") is not None and row_named(app, "after").running)
        d2.pyctr("rm", "-f", "after")


@sync
async def test_unreachable_daemon_is_a_banner_not_a_crash(tmp_path):
    app = PyctrApp(f"unix://{tmp_path}/nothing.sock")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.last_error, what="an error")
        assert "Cannot connect to the pyctr daemon" in app.last_error
        assert app.query_one("#banner").display
        await pilot.press("s")   # an action with nothing selected: a notice
        await pilot.press("2", "d")
        assert app.is_running


@sync
async def test_pull_from_an_unreachable_registry_shows_the_error(daemon):
    from pyctr.tui.dialogs import PullScreen
    async with running(daemon.host, (80, 24)) as (app, pilot):
        await pilot.press("2", "u")
        await until(pilot, lambda: isinstance(app.screen, PullScreen))
        screen = app.screen
        screen.query_one("#image").value = "127.0.0.1:1/nothing:here"   # loopback, nothing listens
        await pilot.press("enter")
        status = screen.query_one("#status")
        await until(pilot, lambda: "Error" in str(status.render()), timeout=60,
                    what="the pull's error")
        assert not screen.done
        await pilot.press("escape")
        assert not any("127.0.0.1:1/nothing" in t for i in daemon.client().images() for t in i.repo_tags)
