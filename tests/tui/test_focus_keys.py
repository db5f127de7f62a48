"""The bugs of issue 23 about focus and keys, driven with Pilot against a real pyctrd:
detach keys that ended the app, keys that went into a stdin line, focus lost when a
pane closed, the run form's Env field, the help's way out."""

from __future__ import annotations

import os

import pytest

from pyctr.tui.app import PyctrApp
from pyctr.tui.attachview import AttachView
from pyctr.tui.dialogs import ConfirmScreen, HelpScreen, RunScreen
from pyctr.tui.logview import LogView
from pyctr.tui.terminal import TerminalView

from tui.helpers import open_log_pane, row_named, run_form, run_loggers, running, select, sync, until
from harness import wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")




async def attach(pilot, app, name: str) -> AttachView:
    await pilot.press("1")
    await select(pilot, app, name)
    before = set(app.query(AttachView))
    await pilot.press("e")
    await until(pilot, lambda: set(app.query(AttachView)) - before, what=f"pane of {name}")
    (pane,) = set(app.query(AttachView)) - before
    await until(pilot, lambda: pane.state == "attached", what=f"{name} attached")
    return pane


@sync
async def test_detach_keys_with_two_attach_panes_never_quit(daemon, cleanup):
    cleanup += ["t-two-a", "t-two-b"]
    for name in cleanup:
        daemon.pyctr("run", "-d", "-i", "-t", "--name", name, "busybox", "sh")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        first = await attach(pilot, app, "t-two-a")
        second = await attach(pilot, app, "t-two-b")
        # the pane just opened has the keys, not the first one
        await until(pilot, lambda: second.terminal.has_focus, what="focus in the second pane")
        await pilot.press("ctrl+p", "ctrl+q")
        await until(pilot, lambda: second not in app.query(AttachView), what="second detached")
        assert app.is_running and first in app.query(AttachView)
        await until(pilot, lambda: first.terminal.has_focus, what="focus back in the first pane")
        await pilot.press("ctrl+p", "ctrl+q")
        await until(pilot, lambda: not app.query(AttachView), what="first detached")
        assert app.is_running
        # nothing left in the tab: the list has the focus and the footer's keys
        await until(pilot, lambda: app.focused is app.containers_view.table, what=f"list focus, not {app.focused}")
        assert app._tabs.active == "containers"
        # Ctrl-Q outside a terminal while a session is open asks first
        pane = await attach(pilot, app, "t-two-a")
        await until(pilot, lambda: pane.terminal.has_focus)
        await pilot.press("ctrl+p", "tab")   # leave the terminal, still attached
        await until(pilot, lambda: not pane.terminal.has_focus)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.is_running
    for name in cleanup:
        assert daemon.client().inspect_container(name)["State"]["Running"]


@sync
async def test_non_tty_attach_pane_leaves_tab_keys_to_the_app(daemon, cleanup):
    cleanup.append("t-keys")
    daemon.pyctr("run", "-d", "-i", "--name", "t-keys", "busybox", "cat")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        pane = await attach(pilot, app, "t-keys")
        line = pane.query_one("Input")
        await pilot.press("2")
        assert app._tabs.active == "images" and line.value == ""
        await pilot.press("4")
        await until(pilot, lambda: pane.focus_target.has_focus, what="the pane's output")
        await pilot.press("i", *"w12345", "enter")   # in the line these are text
        log = pane.query_one("RichLog")
        await until(pilot, lambda: any("w12345" in s.text for s in log.lines), what="cat's echo")
        await pilot.press("escape", "w")             # out of the line, w closes the pane
        await until(pilot, lambda: not app.query(AttachView), what="pane closed by w")
        assert app.focused is app.containers_view.table


@sync
async def test_focus_goes_to_the_pane_left_when_a_log_pane_closes(daemon, cleanup):
    cleanup += ["t-lf-a", "t-lf-b"]
    run_loggers(daemon, cleanup)
    async with running(daemon.host, (120, 30)) as (app, pilot):
        for name in cleanup:
            await pilot.press("1")
            await select(pilot, app, name)
            await pilot.press("l")
            await until(pilot, lambda: name in [p.cname for p in app.query(LogView)])
        panes = list(app.query(LogView))
        await until(pilot, lambda: panes[1].log_widget.has_focus, what="the new pane's focus")
        await pilot.press("w")
        await until(pilot, lambda: len(app.query(LogView)) == 1)
        await until(pilot, lambda: panes[0].log_widget.has_focus, what="focus on the pane left")
        await pilot.press("w")
        await until(pilot, lambda: not app.query(LogView))
        await until(pilot, lambda: app.focused is app.containers_view.table, what=f"list focus, not {app.focused}")


@sync
async def test_run_form_env_keeps_spaces_in_values(daemon, cleanup):
    cleanup.append("t-env")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        form = await run_form(pilot, app, image="busybox", name="t-env", command="sleep 30",
                              env="A=1, B=two words C=x,y")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: row_named(app, "t-env") is not None, what="the container")
    env = daemon.client().inspect_container("t-env")["Config"]["Env"]
    assert {"A=1", "B=two words", "C=x,y"} <= set(env)
    assert not any(e.startswith(("words", "B=two,")) for e in env)


@sync
async def test_help_says_and_does_escape_closes_it(daemon):
    async with running(daemon.host, (100, 40)) as (app, pilot):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = str(app.screen.query_one("Static").render())
        assert "Esc" in text.split("\n")[0]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


@sync
async def test_tty_log_pane_keeps_escape_codes_from_the_terminal(daemon, cleanup):
    cleanup.append("t-ansi")
    # what `top` writes: a title (OSC), clear + home (CSI), colours, a charset switch
    daemon.pyctr("run", "-d", "-t", "--name", "t-ansi", "busybox", "sh", "-c",
                 r"while :; do printf '\033]0;evil-title\007\033[2J\033[H\033(BMem: 1 \033[31mred\033[0m\r\n'; "
                 "sleep 0.2; done")
    async with running(daemon.host, (120, 30)) as (app, pilot):
        pane = await open_log_pane(pilot, app, "t-ansi")
        await until(pilot, lambda: pane.log_widget.lines, what="drawn lines")
        assert pane.tty
        assert all(line.text == "Mem: 1 red" for line in pane.buffer), [l.text for l in pane.buffer]
        drawn = "".join(seg.text for strip in pane.log_widget.lines for seg in strip)
        assert "Mem: 1 red" in drawn
        assert not any(ch < " " and ch != "\t" or "\x7f" <= ch <= "\x9f" for ch in drawn), repr(drawn)


@sync
async def test_removing_an_image_with_three_tags_offers_the_choice(daemon):
    from pyctr.tui.dialogs import ChoiceScreen
    cid = daemon.pyctr("run", "-d", "busybox", "sh", "-c", "echo x > /three").stdout.decode().strip()
    daemon.pyctr("wait", cid)
    daemon.pyctr("commit", cid, "t-three:a")
    daemon.pyctr("rm", cid)
    daemon.pyctr("tag", "t-three:a", "t-three:b")
    daemon.pyctr("tag", "t-three:a", "t-three:c")
    image_id = daemon.client().inspect_image("t-three:a")["Id"]

    def tags() -> set[str]:
        return {t for i in daemon.client().images() for t in i.repo_tags if t.startswith("t-three:")}
    try:
        async with running(daemon.host, (120, 30)) as (app, pilot):
            await pilot.press("2")
            view = app.images_view
            tree = view.image_tree

            def node_of_image():
                stack = list(tree.root.children)
                while stack:
                    node = stack.pop()
                    if node.data is not None and node.data.image.id == image_id and len(node.data.tags) == 3:
                        return node
                    stack += node.children
                return None
            await until(pilot, lambda: node_of_image() is not None, what="the image's node")
            tree.move_cursor(node_of_image())
            tree.focus()
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the choice")
            options = app.screen.query_one("OptionList")
            labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            assert labels == ["untag t-three:a", "untag t-three:b", "untag t-three:c",
                              "all 3 tags (and the image)"]
            await pilot.press("down", "enter")   # the second: t-three:b only
            await until(pilot, lambda: tags() == {"t-three:a", "t-three:c"}, what=f"b untagged, {tags()}")
            await until(pilot, lambda: node_of_image() is None, what="the tree reloaded")
            # two tags left: still a choice; Esc cancels it and removes nothing
            stack = list(tree.root.children)
            while stack and not (stack[-1].data and stack[-1].data.image.id == image_id):
                stack += stack.pop().children
            tree.move_cursor(stack[-1])
            tree.focus()
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("escape")
            assert tags() == {"t-three:a", "t-three:c"}
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("end", "enter")    # all of them: the image goes
            await until(pilot, lambda: not tags(), what="all tags removed")
        assert not any(i.id == image_id for i in daemon.client().images(all=True))
    finally:
        for tag in "abc":
            daemon.pyctr("rmi", f"t-three:{tag}", check=False)


def _grey(color) -> float:
    r, g, b = color.get_truecolor()
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


@sync
async def test_no_color_keeps_restarting_readable(daemon, cleanup, monkeypatch):
    cleanup += ["t-restarting", "t-nc-up"]
    daemon.pyctr("run", "-d", "--name", "t-nc-up", "busybox", "sleep", "60")
    daemon.pyctr("run", "-d", "--restart", "always", "--name", "t-restarting", "busybox", "sh", "-c", "exit 1")
    monkeypatch.setenv("NO_COLOR", "1")
    app = PyctrApp(daemon.host)
    assert app.no_color
    seen: list[tuple[str, float]] = []

    def restarting_drawn() -> bool:
        """The STATUS cell of the restarting row as the terminal gets it (after the
        NO_COLOR filter), with the cursor on another row."""
        table = app.containers_view.table
        row = row_named(app, "t-restarting")
        if row is None or row.state != "restarting" or row.id not in table.rows:
            return False
        index = table.get_row_index(row.id)
        if table.cursor_row == index:
            return False
        segments = list(table.render_line(index + 1 - int(table.scroll_y)))
        for line_filter in app._filters:
            segments = line_filter.apply(segments, app.screen.styles.background)
        for seg in segments:
            if "Restarting" in seg.text:
                style = seg.style
                seen.append((seg.text, abs(_grey(style.color) - _grey(style.bgcolor)), bool(style.reverse),
                             bool(style.bold)))
                return True
        return False
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connected)
        await select(pilot, app, "t-nc-up")
        await until(pilot, restarting_drawn, timeout=30, what="a drawn Restarting row")
    text, contrast, reverse, bold = seen[-1]
    # the grey of the text stands off its background, and the state has its own attributes
    assert contrast >= 0.4 or reverse, seen
    assert bold, seen


@sync
async def test_80_columns_show_image_command_and_the_whole_footer(daemon, cleanup):
    cleanup.append("t-narrow")
    daemon.pyctr("run", "-d", "--name", "t-narrow", "busybox", "sh", "-c", "sleep 600; echo a long command line")
    # Past "Up Less than a second" (a status 9 characters wider than "Up 2 seconds", which a
    # loaded host showed at the first frame): the columns are measured with a usual status.
    wait_for(lambda: "Less than" not in daemon.pyctr("ps", "--filter", "name=t-narrow").stdout.decode())
    async with running(daemon.host, (80, 24)) as (app, pilot):
        await select(pilot, app, "t-narrow")
        await pilot.pause()
        table = app.containers_view.table
        right = 0
        for column in table.ordered_columns:
            right += column.get_render_width(table)
            if str(column.label) == "COMMAND":
                break
        assert right <= table.scrollable_content_region.width, (right, table.size)
        index = table.get_row_index(row_named(app, "t-narrow").id)
        shown = "".join(seg.text for seg in table.render_line(index + 1))
        assert "busybox" in shown and "sh -c" in shown, shown
        from textual.widgets._footer import FooterKey
        keys = list(app.screen.query(FooterKey))
        assert keys and all(k.region.right <= 80 and k.region.width > 0 for k in keys), \
            " ".join(f"{k.key}:{k.region.x}-{k.region.right}" for k in keys)
        assert {"question_mark", "q", "l", "e", "d"} <= {k.key for k in keys}


@sync
async def test_mem_and_cpu_cells_show_their_units(daemon, cleanup):
    from pyctr.engine.client.frontend.text import human_size
    cleanup.append("t-mem")
    daemon.pyctr("run", "-d", "--name", "t-mem", "busybox", "sleep", "600")
    app = PyctrApp(daemon.host)
    seen: list[str] = []

    def drawn_with_units() -> bool:
        table = app.containers_view.table
        row = row_named(app, "t-mem")
        if row is None or not row.memory or not row.cpu or row.id not in table.rows:
            seen[:] = [f"row {row}"]
            return False
        shown = "".join(seg.text for seg in table.render_line(table.get_row_index(row.id) + 1))
        seen[:] = [shown, human_size(row.memory), f"{row.cpu[-1]:3.0f}%"]
        return human_size(row.memory) in shown and f"{row.cpu[-1]:3.0f}%" in shown
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.connected)
        try:
            await until(pilot, drawn_with_units, timeout=30, what="MEM and CPU with units")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last drawn: {seen}") from None
    assert seen[1].endswith("B")   # "356 kB", "1.2 MB": the unit is drawn


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from registry.regserver import RegistryProcess
    reg = RegistryProcess(str(tmp_path_factory.mktemp("tui-registry"))).start()
    yield reg
    reg.stop()


@sync
async def test_pull_rows_stop_pulsing_when_the_pull_ends(daemon, registry):
    from textual.widgets import ProgressBar
    from pyctr.tui.dialogs import PullScreen
    name = f"{registry.address}/tui/pulse"
    cid = daemon.pyctr("run", "-d", "busybox", "sh", "-c", "head -c 300000 /dev/urandom > /blob").stdout.decode().strip()
    daemon.pyctr("wait", cid)
    daemon.pyctr("commit", cid, f"{name}:1")
    daemon.pyctr("rm", cid)
    daemon.pyctr("push", f"{name}:1")
    daemon.pyctr("rmi", f"{name}:1")
    try:
        async with running(daemon.host, (100, 30)) as (app, pilot):
            await pilot.press("2", "u")
            await until(pilot, lambda: isinstance(app.screen, PullScreen))
            screen = app.screen
            screen.query_one("#image").value = f"{name}:1"
            await pilot.press("enter")
            await until(pilot, lambda: screen.done, timeout=60, what="the pull")
            await pilot.pause()
            bars = list(screen.query(ProgressBar))
            assert len(bars) >= 2   # busybox's layer (already here) and the new one
            # an indeterminate bar (no total) pulses for ever: every row ends full
            assert all(bar.total is not None and bar.percentage == 1 for bar in bars), \
                [(str(bar.parent.query(".layer-status").last().render()), bar.total, bar.progress) for bar in bars]
            await pilot.press("escape")
    finally:
        daemon.pyctr("rmi", f"{name}:1", check=False)


@sync
async def test_keys_typed_right_after_tab_land_in_the_next_field(daemon, cleanup):
    from tui.helpers import burst
    cleanup.append("t-burst")
    async with running(daemon.host, (100, 30)) as (app, pilot):
        app.action_run_form("busybox")
        await until(pilot, lambda: isinstance(app.screen, RunScreen) and getattr(app.focused, "id", "") == "name")
        form = app.screen
        # one read of a fast typist: name, Tab, command, Tab, env, Run
        burst(app, "t-burst", "tab", "sleep 30", "tab", "K=v", "ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, RunScreen), what=(
            f"the form to close: {[(i.id, i.value) for i in form.query('Input')]}"))
        await until(pilot, lambda: row_named(app, "t-burst") is not None, what="the container")
        await until(pilot, lambda: app.command_log.entries, what="the run in the command log")
        assert [(e.what, e.ok) for e in app.command_log.entries] == [("run t-burst busybox", True)]
    data = daemon.client().inspect_container("t-burst")
    assert data["Config"]["Cmd"] == ["sleep", "30"] and "K=v" in data["Config"]["Env"]


@sync
async def test_tab_cycles_the_panes_of_the_tab_and_never_switches_tabs(daemon, cleanup):
    cleanup += ["t-tab-a", "t-tab-b"]
    run_loggers(daemon, cleanup)
    async with running(daemon.host, (120, 30)) as (app, pilot):
        table = app.containers_view.table
        for _ in range(3):      # one pane in the tab: Tab leaves the focus where it is
            await pilot.press("tab")
            assert app._tabs.active == "containers" and app.focused is table, app.focused
        await pilot.press("shift+tab")
        assert app.focused is table
        for name in cleanup:
            await pilot.press("1")
            await select(pilot, app, name)
            await pilot.press("l")
            await until(pilot, lambda: name in [p.cname for p in app.query(LogView)])
        first, second = app.query(LogView)
        await until(pilot, lambda: second.log_widget.has_focus)
        seen = []
        for _ in range(4):
            await pilot.press("tab")
            seen.append((app._tabs.active, app.focused))
        assert seen == [("logs", first.log_widget), ("logs", second.log_widget)] * 2, seen
        await pilot.press("shift+tab")
        assert app.focused is first.log_widget
        # a key right after Tab is the new pane's: w closes the pane Tab went to
        from tui.helpers import burst
        burst(app, "tab", "w")
        await until(pilot, lambda: len(app.query(LogView)) == 1)
        assert app.query_one(LogView) is first and app._tabs.active == "logs"
