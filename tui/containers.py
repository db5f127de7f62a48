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
from pyctr.engine.client.models import ContainerSummary
from pyctr.engine.client.frontend.text import ago, human_size

from .dialogs import ConfirmScreen, InspectScreen, SignalScreen, TopScreen
from .model import QUIET_EVENTS, ContainerRow, sparkline

REBUILD_DELAY = 0.05
MAX_STATS = 64
CPU_HISTORY = 16
COLUMNS = [("ID", "id"), ("NAME", "name"), ("STATUS", "status"), ("CPU", "cpu"), ("MEM", "mem"),
           ("IMAGE", "image"), ("COMMAND", "command"), ("CREATED", "created"), ("PORTS", "ports")]
SORTS = {
    "created": (lambda r: r.created, True),
    "name": (lambda r: r.name, False),
    "status": (lambda r: (not r.running, r.state, -r.since), False),
    "image": (lambda r: (r.image, r.name), False),
    "cpu": (lambda r: r.cpu[-1] if r.cpu else -1.0, True),
}
STATE_STYLE = {"running": "green", "paused": "yellow", "restarting": "magenta", "exited": "dim",
               "created": "cyan"}


class ContainersView(Vertical):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("a", "toggle_all", "All/running"),
        Binding("o", "sort", "Sort"),
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("r", "restart", "Restart"),
        Binding("k", "kill", "Kill"),
        Binding("p", "pause", "Pause"),
        Binding("d", "remove", "Remove"),
        Binding("i", "inspect", "Inspect"),
        Binding("l", "logs", "Logs"),
        Binding("e", "attach", "Attach"),
        Binding("t", "top", "Top"),
        Binding("n", "run", "Run…"),
    ]
    DEFAULT_CSS = """
    ContainersView { height: 1fr; }
    ContainersView > #filter { display: none; }
    ContainersView.filtering > #filter { display: block; }
    ContainersView > .summary { height: 1; background: $boost; }
    ContainersView > DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="containers-view")
        self.rows: dict[str, ContainerRow] = {}
        self.show_all = True
        self.filter_text = ""
        self.sort_name = "created"
        self._rebuild_handle: asyncio.TimerHandle | None = None
        self._dirty: set[str] = set()
        self._refresher: asyncio.Task | None = None
        self._stats: dict[str, asyncio.Task] = {}
        self.rebuilds = 0          # for tests and the benchmark

    def compose(self):
        yield Input(placeholder="filter: part of an id, name, image, command or state", id="filter")
        yield Static("", classes="summary")
        table = DataTable(id="containers", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table

    def on_mount(self) -> None:
        self.set_interval(15, self._refresh_times)

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
                data = await self.app.client.inspect_container(cid)
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
                self._update_stats_cells(row)
        except (ClientError, ConnectionLost):
            pass
        finally:
            if self._stats.get(cid) is asyncio.current_task():
                del self._stats[cid]

    def _update_stats_cells(self, row: ContainerRow) -> None:
        table = self.table
        if row.id in table.rows:
            table.update_cell(row.id, "cpu", self._cpu_cell(row))
            table.update_cell(row.id, "mem", human_size(row.memory) if row.memory else "")

    # --- drawing ----------------------------------------------------------------
    def visible_rows(self) -> list[ContainerRow]:
        key, reverse = SORTS[self.sort_name]
        rows = [r for r in self.rows.values()
                if (self.show_all or r.running) and r.matches(self.filter_text)]
        return sorted(rows, key=key, reverse=reverse)

    def schedule_rebuild(self) -> None:
        if self._rebuild_handle is None:
            loop = asyncio.get_running_loop()
            self._rebuild_handle = loop.call_later(REBUILD_DELAY, self.rebuild_now)

    @staticmethod
    def _cpu_cell(row: ContainerRow) -> Text:
        if not row.cpu:
            return Text("")
        return Text(f"{sparkline(row.cpu, 6)} {row.cpu[-1]:3.0f}%", style="cyan")

    def _cells(self, row: ContainerRow, now: float) -> list:
        return [row.short_id, row.name, Text(row.status(now), style=STATE_STYLE.get(row.state, "")),
                self._cpu_cell(row), human_size(row.memory) if row.memory else "",
                row.image, row.command[:40], ago(row.created, now) if row.created else "", row.ports]

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
        for row in rows:
            table.add_row(*self._cells(row, now), key=row.id)
        if selected and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        running = sum(1 for r in self.rows.values() if r.running)
        view = "all" if self.show_all else "running"
        flt = f" · filter {self.filter_text!r}" if self.filter_text else ""
        self.query_one(".summary", Static).update(
            f" {len(rows)} shown · {running} running · {len(self.rows)} total · {view}"
            f" · sort {self.sort_name}{flt}")

    def _refresh_times(self) -> None:
        table, now = self.table, time.time()
        for row in self.rows.values():
            if row.id in table.rows:
                table.update_cell(row.id, "status", Text(row.status(now), style=STATE_STYLE.get(row.state, "")))

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

    def _act(self, verb: str, make) -> None:
        row = self.selected()
        if row is not None:
            self.app.api_action(f"{verb} {row.name or row.short_id}", make(row))

    def action_start(self) -> None:
        self._act("start", lambda r: self.app.client.start(r.id))

    def action_stop(self) -> None:
        self._act("stop", lambda r: self.app.client.stop(r.id))

    def action_restart(self) -> None:
        self._act("restart", lambda r: self.app.client.restart(r.id))

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
        self.app.push_screen(SignalScreen(row.name or row.short_id), chosen)

    def action_remove(self) -> None:
        row = self.selected()
        if row is None:
            return
        warning = " It is running: it will be killed." if row.running else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.api_action(f"remove {row.name}",
                                    self.app.client.remove_container(row.id, force=row.running))
        self.app.push_screen(ConfirmScreen(f"Remove container {row.name or row.short_id}?{warning}"),
                             answered)

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

    def action_attach(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.open_attach(row)

    def action_run(self) -> None:
        self.app.action_run_form("")
