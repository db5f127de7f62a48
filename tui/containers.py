"""The containers panel: the live list, its filter and sort, the actions.

The list is read once when the app connects; after that each event re-reads
only the container it names (`inspect`), and `destroy` drops its row. Table
rebuilds are coalesced (one per REBUILD_DELAY); CPU/memory come from one stats
stream per running container (at most MAX_STATS), drawn as sparklines."""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from pyctr.engine.client.aio import ConnectionLost, Event
from pyctr.engine.client.errors import APIError, ClientError
from pyctr.engine.api.records import ContainerSummary
from pyctr.engine.client.frontend.text import ago, human_size

from .config import CustomCommand, with_ids
from .dialogs import ConfirmScreen, InspectScreen, TopScreen, signal_screen
from .model import QUIET_EVENTS, ContainerRow, sparkline

REBUILD_DELAY = 0.05
PROJECT_KEY = "\0project:"   # the row key of a project's header (no container id looks so)
MAX_STATS = 64
CPU_HISTORY = 16
STATS_DRAW = 2.0   # seconds between two drawings of the CPU and MEM cells
# What tells containers apart first: at 80 columns NAME to COMMAND fit, the ID (also in
# inspect) comes last.
COLUMNS = [("NAME", "name"), ("STATUS", "status"), ("IMAGE", "image"), ("COMMAND", "command"),
           ("CPU", "cpu"), ("MEM", "mem"), ("CREATED", "created"), ("PORTS", "ports"), ("ID", "id")]
COMMAND_WIDTH = 24
# The stats cells arrive after the row, and a DataTable keeps the width a column had:
# these two are as wide as their widest value from the start ("123.5 MB", "▁▂▃▄▅▆ 100%").
FIXED_WIDTHS = {"mem": 8, "cpu": 11}
SORTS = {
    "created": (lambda r: r.created, True),
    "name": (lambda r: r.name, False),
    "status": (lambda r: (not r.running, r.state, -r.since), False),
    "image": (lambda r: (r.image, r.name), False),
    "cpu": (lambda r: r.cpu[-1] if r.cpu else -1.0, True),
}
STATE_STYLE = {"running": "green", "paused": "yellow", "restarting": "bold magenta", "exited": "dim",
               "created": "cyan"}
# Under NO_COLOR Textual draws colours as greys, and magenta's grey is the background's:
# there the states are told apart by text attributes only.
MONO_STATE_STYLE = {"running": "bold", "paused": "italic", "restarting": "bold reverse",
                    "exited": "", "created": "italic"}


class ContainersView(Vertical):
    BINDINGS = with_ids("containers", [
        Binding("slash", "filter", "Find"),
        Binding("a", "toggle_all", "All/running", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("r", "restart", "Restart"),
        Binding("k", "kill", "Kill", show=False),
        Binding("p", "pause", "Pause", show=False),
        Binding("d", "remove", "Rm"),
        Binding("i", "inspect", "Inspect", show=False),
        Binding("l", "logs", "Logs"),
        Binding("e", "attach", "Attach"),
        Binding("E", "exec", "Exec"),
        Binding("t", "top", "Top", show=False),
        Binding("n", "run", "Run"),
        Binding("space", "mark", "Mark", show=False),
        Binding("g", "group", "Group by project", show=False),
        Binding("U", "project('up')", "Project up", show=False),
        Binding("D", "project('down')", "Project down", show=False),
        Binding("R", "project('restart')", "Project restart", show=False),
        Binding("L", "merged_logs", "Merged logs", show=False),
        Binding("P", "prune", "Prune", show=False),
        Binding("u", "urls", "Port URLs", show=False),
        Binding("v", "detail", "Detail", show=False),
    ])
    DEFAULT_CSS = """
    ContainersView > #filter { display: none; }
    ContainersView.filtering > #filter { display: block; }
    """

    def __init__(self, commands: list[CustomCommand] = ()) -> None:
        super().__init__(id="containers-view", classes="panel")
        # the config file's commands, on the keys it gave them (checked free there)
        self.commands = list(commands)
        for index, command in enumerate(self.commands):
            self._bindings.bind(command.key, f"custom_command({index})", command.name, show=False)
        self.rows: dict[str, ContainerRow] = {}
        self.show_all = True
        self.filter_text = ""
        self.sort_name = "created"
        self._rebuild_handle: asyncio.TimerHandle | None = None
        self._dirty: set[str] = set()
        self._refresher: asyncio.Task | None = None
        self._stats: dict[str, asyncio.Task] = {}
        self.rebuilds = 0          # for tests and the benchmark
        self.marked: set[str] = set()   # container ids picked with space for a bulk action
        self.group_projects = False
        self._stats_dirty: set[str] = set()
        self._drawn_stats: dict[str, tuple[str, str]] = {}   # the CPU and MEM text in each row

    def compose(self):
        yield Input(placeholder="filter: part of an id, name, image, command or state", id="filter")
        yield Static("", classes="summary")
        table = DataTable(id="containers", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key, width=FIXED_WIDTHS.get(key))
        yield table

    def on_mount(self) -> None:
        self.set_interval(15, self._refresh_times)
        self.set_interval(STATS_DRAW, self._draw_stats)

    @property
    def table(self) -> DataTable:
        return self.query_one("#containers", DataTable)

    # --- data ---------------------------------------------------------------
    def load(self, summaries: list[ContainerSummary]) -> None:
        """The whole list, at (re)connection."""
        now = time.time()
        old = self.rows
        self.rows = {}
        for summary in summaries:
            row = ContainerRow.from_summary(summary, now)
            if summary.id in old:
                row.cpu, row.memory, row.tty = old[summary.id].cpu, old[summary.id].memory, old[summary.id].tty
            self.rows[row.id] = row
        for cid in list(self._stats):
            self._stop_stats(cid)
        self._sync_stats()
        self.rebuild_now()

    def apply_event(self, event: Event) -> None:
        if event.type != "container" or not event.id or event.status.split(":")[0] in QUIET_EVENTS:
            return
        if event.status == "destroy":
            self.marked.discard(event.id)
            if self.rows.pop(event.id, None) is not None:
                self._stop_stats(event.id)
                self.schedule_rebuild()
            return
        self._dirty.add(event.id)
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_dirty())

    async def _refresh_dirty(self) -> None:
        """Re-read the containers that events named (each once, however many events)."""
        while self._dirty:
            cid = self._dirty.pop()
            try:
                # 1.41: the labels (compose project, service) are in its Config
                data = await self.app.engine.client.inspect_container(cid)
            except APIError as exc:
                if exc.status == 404 and self.rows.pop(cid, None) is not None:
                    self._stop_stats(cid)
                    self.schedule_rebuild()
                continue
            except ClientError:
                continue   # the daemon went away: the app reloads everything on reconnect
            row = ContainerRow.from_inspect(data)
            old = self.rows.get(row.id)
            if old is not None:
                row.cpu, row.memory = old.cpu, old.memory
            self.rows[row.id] = row
            self._sync_stats()
            self.schedule_rebuild()

    # --- stats ----------------------------------------------------------------
    def _sync_stats(self) -> None:
        for cid, row in self.rows.items():
            if row.running and cid not in self._stats and len(self._stats) < MAX_STATS:
                self._stats[cid] = asyncio.create_task(self._follow_stats(cid))
            elif not row.running and cid in self._stats:
                self._stop_stats(cid)

    def _stop_stats(self, cid: str) -> None:
        task = self._stats.pop(cid, None)
        if task is not None:
            task.cancel()

    async def _follow_stats(self, cid: str) -> None:
        try:
            async for sample in self.app.client.stats(cid):
                row = self.rows.get(cid)
                if row is None:
                    break
                row.cpu = (row.cpu + [sample.cpu_percent])[-CPU_HISTORY:]
                row.memory = sample.memory_usage
                self._stats_dirty.add(cid)
        except (ClientError, ConnectionLost):
            pass
        finally:
            if self._stats.get(cid) is asyncio.current_task():
                del self._stats[cid]

    def _draw_stats(self) -> None:
        """The samples of every stream since the last tick, drawn in one pass: a sample a
        second per container, each redrawing the table, kept an idle TUI busy."""
        if not self._stats_dirty or not self.is_mounted:
            return
        dirty, self._stats_dirty = self._stats_dirty, set()
        for cid in dirty:
            row = self.rows.get(cid)
            if row is not None:
                self._update_stats_cells(row)

    def _update_stats_cells(self, row: ContainerRow) -> None:
        """Only cells whose text changed: each update redraws the table, and an idle
        container's cells (0 %, the same memory) stay as they are."""
        table = self.table
        if row.id not in table.rows:
            return
        cpu, mem = self._cpu_cell(row), human_size(row.memory) if row.memory else ""
        if self._drawn_stats.get(row.id) == (cpu.plain, mem):
            return
        self._drawn_stats[row.id] = (cpu.plain, mem)
        table.update_cell(row.id, "cpu", cpu)
        table.update_cell(row.id, "mem", mem)

    # --- drawing ----------------------------------------------------------------
    def visible_rows(self) -> list[ContainerRow]:
        key, reverse = SORTS[self.sort_name]
        rows = [r for r in self.rows.values()
                if (self.show_all or r.running) and r.matches(self.filter_text)]
        rows = sorted(rows, key=key, reverse=reverse)
        if self.group_projects:   # stable: the sort holds inside each project
            rows.sort(key=lambda r: (not r.project, r.project, r.service))
        return rows

    def project_rows(self, project: str) -> list[ContainerRow]:
        return [r for r in self.rows.values() if r.project == project]

    def schedule_rebuild(self) -> None:
        if self._rebuild_handle is None:
            loop = asyncio.get_running_loop()
            self._rebuild_handle = loop.call_later(REBUILD_DELAY, self.rebuild_now)

    @staticmethod
    def _cpu_cell(row: ContainerRow) -> Text:
        if not row.cpu:
            return Text("")
        return Text(f"{sparkline(row.cpu, 6)} {row.cpu[-1]:3.0f}%", style="cyan")

    def _status_cell(self, row: ContainerRow, now: float) -> Text:
        styles = MONO_STATE_STYLE if self.app.no_color else STATE_STYLE
        return Text(row.status(now), style=styles.get(row.state, ""))

    def _cells(self, row: ContainerRow, now: float) -> list:
        command = row.command if len(row.command) <= COMMAND_WIDTH else row.command[:COMMAND_WIDTH - 1] + "…"
        name = Text(("● " if row.id in self.marked else "") + row.name,
                    style="bold" if row.id in self.marked else "")
        if self.group_projects and row.project:
            name = Text("  ") + name
        return [name, self._status_cell(row, now), row.image, command,
                self._cpu_cell(row), human_size(row.memory) if row.memory else "",
                ago(row.created, now) if row.created else "", row.ports, row.short_id]

    def rebuild_now(self) -> None:
        self._rebuild_handle = None
        if not self.is_mounted:
            return
        self.rebuilds += 1
        table = self.table
        selected = self.selected_id()
        rows = self.visible_rows()
        now = time.time()
        table.clear()
        self._drawn_stats.clear()   # the rows are drawn afresh, with the current stats
        project = None
        for row in rows:
            if self.group_projects and row.project and row.project != project:
                project = row.project
                members = self.project_rows(project)
                up = sum(1 for r in members if r.running)
                table.add_row(Text(f"▾ {project}", style="bold"), Text(f"{up} of {len(members)} running"),
                              "compose project", "", "", "", "", "", "", key=PROJECT_KEY + project)
            table.add_row(*self._cells(row, now), key=row.id)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        running = sum(1 for r in self.rows.values() if r.running)
        view = "all" if self.show_all else "running"
        flt = f" · filter {self.filter_text!r}" if self.filter_text else ""
        self.marked &= set(self.rows)
        marked = f" · {len(self.marked)} marked (space)" if self.marked else ""
        grouped = " · by project (g)" if self.group_projects else ""
        self.query_one(".summary", Static).update(
            f" {len(rows)} shown · {running} running · {len(self.rows)} total · {view}"
            f" · sort {self.sort_name}{flt}{marked}{grouped}")

    def _refresh_times(self) -> None:
        table, now = self.table, time.time()
        for row in self.rows.values():
            if row.id in table.rows:
                table.update_cell(row.id, "status", self._status_cell(row, now))

    # --- selection and actions ----------------------------------------------------
    def selected_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value

    def selected(self) -> ContainerRow | None:
        cid = self.selected_id()
        row = self.rows.get(cid) if cid else None
        if row is None:
            self.app.notify("No container selected", severity="warning")
        return row

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_inspect()

    def action_filter(self) -> None:
        self.add_class("filtering")
        self.query_one("#filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value.strip()
            self.schedule_rebuild()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.table.focus()

    def clear_filter(self) -> None:
        self.remove_class("filtering")
        self.query_one("#filter", Input).value = ""
        self.filter_text = ""
        self.schedule_rebuild()
        self.table.focus()

    def key_escape(self) -> None:
        if self.has_class("filtering"):
            self.clear_filter()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.rebuild_now()

    def action_sort(self) -> None:
        names = list(SORTS)
        self.sort_name = names[(names.index(self.sort_name) + 1) % len(names)]
        self.rebuild_now()

    def selected_project(self) -> str:
        """The project of the row under the cursor: its header, or one of its containers."""
        key = self.selected_id() or ""
        if key.startswith(PROJECT_KEY):
            return key[len(PROJECT_KEY):]
        row = self.rows.get(key)
        return row.project if row is not None else ""

    def targets(self) -> list[ContainerRow]:
        """What a container action acts on: the marked containers, else a project's
        (its header under the cursor), else the one under the cursor."""
        if self.marked:
            return [self.rows[cid] for cid in sorted(self.marked, key=lambda c: self.rows[c].name)
                    if cid in self.rows]
        key = self.selected_id() or ""
        if key.startswith(PROJECT_KEY):
            return sorted(self.project_rows(key[len(PROJECT_KEY):]), key=lambda r: r.name)
        row = self.selected()
        return [row] if row is not None else []

    def _act(self, verb: str, make) -> None:
        bulk = bool(self.marked)
        rows = self.targets()
        for row in rows:
            self.app.api_action(f"{verb} {row.name or row.short_id}", make(row), quiet=len(rows) > 1)
        if len(rows) > 1:
            self.app.notify(f"{verb}: {len(rows)} containers", timeout=3)
        if bulk:
            self.clear_marks()

    def action_start(self) -> None:
        self._act("start", lambda r: self.app.client.start(r.id))

    def action_stop(self) -> None:
        self._act("stop", lambda r: self.app.client.stop(r.id))

    def action_restart(self) -> None:
        self._act("restart", lambda r: self.app.client.restart(r.id))

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.schedule_rebuild()

    def action_mark(self) -> None:
        cid = self.selected_id()
        if cid is None or cid not in self.rows:
            return
        self.marked ^= {cid}
        table = self.table
        table.update_cell(cid, "name", self._cells(self.rows[cid], time.time())[0])
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self.schedule_rebuild()

    def action_group(self) -> None:
        self.group_projects = not self.group_projects
        self.rebuild_now()

    def action_project(self, verb: str) -> None:
        project = self.selected_project()
        if not project:
            self.app.notify("The selected container is in no compose project "
                            "(no com.docker.compose.project label)", severity="warning")
            return
        rows = sorted(self.project_rows(project), key=lambda r: (r.service, r.name))
        app = self.app
        if verb == "up":
            stopped = [row for row in rows if not row.running]
            for row in stopped:
                app.api_action(f"project {project} up: start {row.name}", app.client.start(row.id), quiet=True)
            app.notify(f"{project}: starting {len(stopped)} of {len(rows)} containers", timeout=3)
        elif verb == "restart":
            for row in rows:
                app.api_action(f"project {project} restart: restart {row.name}", app.client.restart(row.id),
                               quiet=True)
            app.notify(f"{project}: restarting {len(rows)} containers", timeout=3)
        else:
            def answered(yes: bool | None) -> None:
                if yes:
                    self.project_down(project, rows)
            app.push_screen(ConfirmScreen(
                f"Down project {project}: stop and remove its {len(rows)} containers?"), answered)

    @work(group="api")
    async def project_down(self, project: str, rows: list[ContainerRow]) -> None:
        """Stop them all first (as compose down does), then remove them."""
        app = self.app
        await asyncio.gather(*(app.run_logged(f"project {project} down: stop {r.name}", app.client.stop(r.id),
                                              quiet=True) for r in rows))   # stopped ones answer 304
        results = await asyncio.gather(*(app.run_logged(f"project {project} down: remove {r.name}",
                                                        app.client.remove_container(r.id, force=True), quiet=True)
                                         for r in rows))
        app.notify(f"{project}: {sum(ok for ok, _ in results)} of {len(rows)} containers removed",
                   title="project down", timeout=3)

    def action_prune(self) -> None:
        stopped = sum(1 for r in self.rows.values() if not r.running and r.state != "restarting")

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.api_action("container prune", self.app.engine.prune_containers(), summary=pruned)
        self.app.push_screen(ConfirmScreen(f"Remove every stopped container ({stopped})?"), answered)

    def action_merged_logs(self) -> None:
        from .dialogs import ChoiceScreen
        choices: list[tuple[str, str, list[ContainerRow]]] = []
        if self.marked:
            rows = self.targets()
            choices.append(("marked", f"the {len(rows)} marked containers", rows))
        project = self.selected_project()
        if project:
            rows = self.project_rows(project)
            choices.append(("project", f"project {project} ({len(rows)} containers)", rows))
        running = [r for r in self.rows.values() if r.running]
        choices.append(("all", f"all {len(running)} running containers", running))

        def chosen(key: str | None) -> None:
            for wid, label, rows in choices:
                if wid == key and rows:
                    title = f"project {project}" if wid == "project" else label.removeprefix("the ")
                    self.app.open_merged_logs(sorted(rows, key=lambda r: (r.service, r.name)), title)
        self.app.push_screen(ChoiceScreen("Merged logs of:", [(wid, label) for wid, label, _ in choices]),
                             chosen)

    def action_urls(self) -> None:
        from .dialogs import ChoiceScreen
        row = self.selected()
        if row is None:
            return
        if not row.port_urls:
            self.app.notify(f"{row.name} publishes no TCP port", severity="warning")
            return

        def chosen(url: str | None) -> None:
            if url:
                self.app.copy_to_clipboard(url)
                self.app.notify(f"{url} (copied to the clipboard where the terminal allows OSC 52)",
                                title=f"{row.name}", timeout=6)
        self.app.push_screen(ChoiceScreen(f"Published ports of {row.name} — Enter copies the URL:",
                                          [(url, url) for url in row.port_urls]), chosen)

    def action_pause(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.state == "paused":
            self.app.api_action(f"unpause {row.name}", self.app.client.unpause(row.id))
        else:
            self.app.api_action(f"pause {row.name}", self.app.client.pause(row.id))

    def action_kill(self) -> None:
        row = self.selected()
        if row is None:
            return

        def chosen(signal: str | None) -> None:
            if signal:
                self.app.api_action(f"kill -s {signal} {row.name}", self.app.client.kill(row.id, signal))
        self.app.push_screen(signal_screen(row.name or row.short_id), chosen)

    def action_remove(self) -> None:
        rows = self.targets()
        if not rows:
            return
        running = sum(1 for r in rows if r.running)
        warning = f" {running} running: killed first." if len(rows) > 1 and running else (
            " It is running: it will be killed." if running else "")
        what = rows[0].name or rows[0].short_id if len(rows) == 1 else f"{len(rows)} containers"

        def answered(yes: bool | None) -> None:
            if yes:
                for row in rows:
                    self.app.api_action(f"remove {row.name}", self.app.client.remove_container(
                        row.id, force=row.running), quiet=len(rows) > 1)
                self.clear_marks()
        self.app.push_screen(ConfirmScreen(f"Remove {what}?{warning}"), answered)

    @work(group="inspect")
    async def action_inspect(self) -> None:
        row = self.selected()
        if row is None:
            return
        try:
            data = await self.app.client.inspect_container(row.id)
        except ClientError as exc:
            self.app.notify(str(exc), title=f"inspect {row.name}", severity="error")
            return
        await self.app.push_screen(InspectScreen(f"container {row.name or row.short_id}", data))

    def action_top(self) -> None:
        row = self.selected()
        if row is None:
            return
        if not row.running:
            self.app.notify(f"Container {row.name} is not running", severity="error")
            return
        self.app.push_screen(TopScreen(row.id, row.name or row.short_id))

    def action_logs(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.open_logs(row)

    def action_exec(self) -> None:
        """A shell (or the command given) in the container, in a terminal pane."""
        from .dialogs import exec_screen
        row = self.selected()
        if row is None:
            return

        def chosen(command: list[str] | None) -> None:
            if command:
                self.app.open_exec(row, command)
        self.app.push_screen(exec_screen(row.name or row.short_id), chosen)

    def action_detail(self) -> None:
        from .detail import DetailScreen
        row = self.selected()
        if row is not None:
            self.app.push_screen(DetailScreen(row))

    def action_custom_command(self, index: int) -> None:
        from .customcommand import CommandOutputScreen
        row = self.selected()
        if row is None:
            return
        command = self.commands[index]
        host = self.app.client.host_url
        line = command.render({"id": row.id, "short_id": row.short_id, "name": row.name, "image": row.image,
                               "project": row.project, "service": row.service, "host": host})
        self.app.push_screen(CommandOutputScreen(f"{command.name} on {row.name or row.short_id}", line, host))

    def action_attach(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.open_attach(row)

    def action_run(self) -> None:
        self.app.action_run_form("")


def pruned(result: dict) -> str:
    removed = result.get("ContainersDeleted") or []
    space = human_size(int(result.get("SpaceReclaimed") or 0))
    return f"removed {len(removed)} ({space})" if removed else "nothing to remove"
