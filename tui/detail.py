"""One container on one screen (`v` on the list): its live stats — CPU, MEM, NET and
BLOCK I/O, PIDs, as `docker stats` words them, with CPU and MEM history — above the
tail of its logs (a log pane with its keys: t p / c)."""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from pyctr.engine.client.aio import ConnectionLost
from pyctr.engine.client.errors import ClientError
from pyctr.engine.client.frontend import statsview
from pyctr.engine.client.frontend.text import human_size

from .config import with_ids
from .logview import LogView
from .model import ContainerRow, sparkline

HISTORY = 40


class DetailLogView(LogView):
    """The log pane of the detail screen: `w` closes the screen, not only the pane."""

    def action_close(self) -> None:
        self.screen.dismiss(None)

    def action_clear_search(self) -> None:
        if self.pattern or self.has_class("searching"):
            super().action_clear_search()
        else:
            self.screen.dismiss(None)   # Esc goes back, as in every other screen


class DetailScreen(Screen[None]):
    BINDINGS = with_ids("detail", [Binding("escape,q,v", "close", "Back to the list")])
    DEFAULT_CSS = """
    DetailScreen > #detail-title { height: 1; background: $boost; padding: 0 1; }
    DetailScreen > #detail-stats { height: auto; padding: 0 1; border: round $secondary; }
    DetailScreen > LogView { height: 1fr; }
    """

    def __init__(self, row: ContainerRow) -> None:
        super().__init__()
        self.row = row
        self.cpu: list[float] = []
        self.memory: list[float] = []
        self.readings = 0          # for tests
        self.last: statsview.StatsRow | None = None
        self.net_rate = (0.0, 0.0)
        self._previous: tuple[float, float, float] | None = None   # time, rx, tx
        self.logs = DetailLogView(row.id, row.name or row.short_id, bool(row.tty))

    def compose(self):
        row = self.row
        title = Text(f"{row.name or row.short_id} ", style="bold")
        title.append(f"{row.short_id} · {row.image} · {row.command}", style="dim")
        if row.ports:
            title.append(f" · {row.ports}", style="cyan")
        yield Static(title, id="detail-title")
        yield Static(Text("waiting for the first stats reading …", style="dim") if row.running
                     else Text(f"{row.status()}: no stats (it is not running)", style="dim"), id="detail-stats")
        yield self.logs
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self.logs.log_widget.focus)
        if self.row.running:
            self.follow_stats()

    @work(exclusive=True, group="detail-stats")
    async def follow_stats(self) -> None:
        stats = self.query_one("#detail-stats", Static)
        try:
            async for reading in self.app.engine.stats_readings(self.row.id):
                self.add_reading(reading)
                stats.update(self.stats_table())
        except (ClientError, ConnectionLost) as exc:
            stats.update(Text(f"stats: {exc}", style="red"))
            return
        stats.update(Text("the container stopped: stats ended", style="dim"))

    def add_reading(self, reading: dict) -> None:
        self.readings += 1
        self.last = statsview.row(self.row.name, reading)
        self.cpu = (self.cpu + [statsview.cpu_percent(reading)])[-HISTORY:]
        memory = reading.get("memory_stats") or {}
        limit = float(memory.get("limit") or 0)
        used = statsview.memory_used(memory)
        self.memory = (self.memory + [100.0 * used / limit if limit else 0.0])[-HISTORY:]
        networks = (reading.get("networks") or {}).values()
        now = time.monotonic()
        rx, tx = (float(sum(n.get(k) or 0 for n in networks)) for k in ("rx_bytes", "tx_bytes"))
        if self._previous is not None and now > self._previous[0]:
            span = now - self._previous[0]
            self.net_rate = ((rx - self._previous[1]) / span, (tx - self._previous[2]) / span)
        self._previous = (now, rx, tx)

    def stats_table(self) -> Table:
        row = self.last
        assert row is not None
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", width=10)
        table.add_column(width=12)
        table.add_column()
        table.add_row("CPU", row.CPUPerc, Text(sparkline(self.cpu, HISTORY), style="cyan"))
        table.add_row("MEM", row.MemPerc, Text(f"{sparkline(self.memory, HISTORY)} {row.MemUsage}", style="magenta"))
        rx, tx = self.net_rate
        table.add_row("NET I/O", row.NetIO.split(" / ")[0],
                      f"received / sent {row.NetIO} · now {human_size(int(rx))}/s in, {human_size(int(tx))}/s out")
        table.add_row("BLOCK I/O", row.BlockIO.split(" / ")[0], f"read / written {row.BlockIO}")
        table.add_row("PIDS", row.PIDs, "")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
