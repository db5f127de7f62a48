"""pyctr-tui: the full-screen manager of a pyctrd (or any Docker 1.2-API daemon).

One connection watch runs the whole time: connect, read the container and
image lists once, then follow the event stream and let each panel update the
rows an event names. When the daemon goes away a banner says so, and the watch
retries every RETRY seconds; on success everything is read afresh."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
from typing import Awaitable

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header, RichLog, Static, TabbedContent, TabPane

from pyctr.engine.client import hosts
from pyctr.engine.client.aio import AsyncClient, ConnectionLost, Event
from pyctr.engine.client.errors import ClientError, DaemonUnreachable

from .attachview import AttachView
from .containers import ContainersView
from .dialogs import HelpScreen, RunScreen
from .images import ImagesView
from .logview import LogView
from .model import ContainerRow
from .runform import RunRequest

RETRY = 1.0
EVENTS_KEPT = 1000
MAX_PANES = 4


class EventsView(RichLog):
    """The daemon's events as a timeline (newest at the bottom)."""

    def __init__(self) -> None:
        super().__init__(id="events-view", max_lines=EVENTS_KEPT, markup=False, highlight=False,
                         wrap=False)

    def add(self, event: Event) -> None:
        stamp = datetime.datetime.fromtimestamp(event.time_nano / 1e9).strftime("%H:%M:%S.%f")[:-3]
        name = event.attributes.get("name", "")
        style = {"die": "red", "kill": "red", "destroy": "red", "start": "green", "create": "cyan",
                 "pause": "yellow", "unpause": "yellow", "delete": "red"}.get(event.status, "")
        # Separating spaces end the span before them: SVG renderers drop a span's leading blanks.
        line = Text(f"{stamp} ", style="dim")
        line.append(f"{event.type:9} ", style="dim")
        line.append(f"{event.status:10} ", style=style)
        line.append(event.id[:12] + " ")
        if name:
            line.append(name + " ", style="bold")
        if event.image:
            line.append(f"({event.image}) ", style="dim")
        extra = {k: v for k, v in event.attributes.items() if k not in ("name", "image")}
        if extra:
            line.append(" ".join(f"{k}={v}" for k, v in extra.items()), style="dim")
        self.write(line)


class PyctrApp(App):
    CSS_PATH = "app.tcss"
    # Its Ctrl-P would take the first key of Docker's detach sequence from attach panes.
    ENABLE_COMMAND_PALETTE = False
    TITLE = "pyctr"
    BINDINGS = [
        # Quit, unless the focus is in a terminal: there Ctrl-Q is the container's
        # (and the second key of Docker's Ctrl-P Ctrl-Q detach).
        Binding("ctrl+q", "quit_unless_terminal", "Quit", show=False, priority=True),
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("1", "tab('containers')", "Containers", show=False),
        Binding("2", "tab('images')", "Images", show=False),
        Binding("3", "tab('logs')", "Logs", show=False),
        Binding("4", "tab('attach')", "Attach", show=False),
        Binding("5", "tab('events')", "Events", show=False),
    ]

    def __init__(self, host: str | None = None) -> None:
        super().__init__()
        self.client = AsyncClient(host)
        self.connected = False
        self.connections = 0          # successful (re)connections, for tests
        self.last_error = ""
        self.sub_title = self.client.host_url
        # Held here, not queried: App.query looks at the top screen, which may be a dialog.
        self._containers = ContainersView()
        self._images = ImagesView()
        self._events = EventsView()
        self._banner = Static("", id="banner")
        self._log_panes = Horizontal(id="log-panes")
        self._attach_panes = Horizontal(id="attach-panes")
        self._tabs = TabbedContent(initial="containers", id="tabs")
        self._no_logs = Static("No log panes. Select a container and press l.", classes="empty")
        self._no_attach = Static("No attach panes. Select a running container and press e.",
                                 classes="empty")

    def compose(self):
        yield Header(show_clock=False)
        yield self._banner
        with self._tabs:
            with TabPane("1 Containers", id="containers"):
                yield self._containers
            with TabPane("2 Images", id="images"):
                yield self._images
            with TabPane("3 Logs", id="logs"):
                yield self._no_logs
                yield self._log_panes
            with TabPane("4 Attach", id="attach"):
                yield self._no_attach
                yield self._attach_panes
            with TabPane("5 Events", id="events"):
                yield self._events
        yield Footer()

    def on_mount(self) -> None:
        self.show_banner("Connecting to " + self.client.host_url + " …")
        self.containers_view.table.focus()
        self.set_interval(0.3, self._sync_placeholders)
        self.watch_connection()

    def _sync_placeholders(self) -> None:
        self._no_logs.display = not self._log_panes.children
        self._no_attach.display = not self._attach_panes.children

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Put the focus where the keys of the new tab work."""
        pane = event.pane
        targets = {"containers": "#containers", "images": "#image-tree", "events": "#events-view",
                   "logs": "LogView RichLog", "attach": "AttachView TerminalView, AttachView Input"}
        found = pane.query(targets.get(pane.id or "", "#none"))
        if found:
            found.first().focus()

    async def on_unmount(self) -> None:
        await self.client.close()

    @property
    def containers_view(self) -> ContainersView:
        return self._containers

    @property
    def images_view(self) -> ImagesView:
        return self._images

    # --- the connection ---------------------------------------------------------
    def show_banner(self, text: str, error: bool = False) -> None:
        banner = self._banner
        banner.update(Text(text))
        banner.set_class(error, "error")
        banner.display = bool(text)

    @work(exclusive=True, group="connection")
    async def watch_connection(self) -> None:
        while True:
            try:
                await self._connected_session()
                message = "The daemon closed the event stream"
            except (DaemonUnreachable, ConnectionLost) as exc:
                message = str(exc)
            except ClientError as exc:
                message = f"{type(exc).__name__}: {exc}"
            was = self.connected
            self.connected = False
            self.last_error = message
            self.show_banner(f"⚠ {message} — retrying every {RETRY:.0f}s"
                             + (" (the lists show what was last seen)" if was else ""), error=True)
            await asyncio.sleep(RETRY)

    async def _connected_session(self) -> None:
        await self.client.ping()
        # Subscribe first, then list: whatever happens in between arrives as events
        # after the lists (no `since` replay of the past second's events).
        events = await self.client.subscribe_events()
        containers = await self.client.containers(all=True)
        images = await self.client.images(all=True)
        self.containers_view.load(containers)
        self.images_view.load(images)
        self.connected = True
        self.connections += 1
        self.show_banner("")
        if self.connections > 1:
            self.notify(f"Reconnected to {self.client.host_url}", title="daemon")
            for pane in self._log_panes.query(LogView):
                pane.reconnected()
        async for event in events:
            self.on_daemon_event(event)

    def on_daemon_event(self, event: Event) -> None:
        self._events.add(event)
        self.containers_view.apply_event(event)
        self.images_view.apply_event(event)

    # --- actions shared by the panels ------------------------------------------------
    def api_action(self, what: str, call: Awaitable, quiet: bool = False) -> None:
        """Run an API call; a failure shows the daemon's message, never a traceback."""
        async def run() -> None:
            try:
                await call
            except ClientError as exc:
                self.notify(str(exc), title=what, severity="error", timeout=8)
                return
            if not quiet:
                self.notify(what, title="done", timeout=2)
        self.run_worker(run(), group="api", exit_on_error=False)

    async def _tty_of(self, row: ContainerRow) -> bool | None:
        if row.tty is None:
            try:
                row.tty = bool(((await self.client.inspect_container(row.id)).get("Config") or {}).get("Tty"))
            except ClientError as exc:
                self.notify(str(exc), severity="error")
                return None
        return row.tty

    @work(group="panes")
    async def open_logs(self, row: ContainerRow) -> None:
        tty = await self._tty_of(row)
        if tty is None:
            return
        panes = self._log_panes
        if len(panes.children) >= MAX_PANES:
            await panes.children[0].remove()
        view = LogView(row.id, row.name or row.short_id, tty)
        await panes.mount(view)
        self._tabs.active = "logs"
        view.log_widget.focus()

    @work(group="panes")
    async def open_attach(self, row: ContainerRow) -> None:
        if not row.running:
            self.notify(f"You cannot attach to a stopped container ({row.name}), start it first",
                        severity="error")
            return
        tty = await self._tty_of(row)
        if tty is None:
            return
        panes = self._attach_panes
        if len(panes.children) >= MAX_PANES:
            self.notify(f"At most {MAX_PANES} attach panes: close one first", severity="warning")
            return
        await panes.mount(AttachView(row.id, row.name or row.short_id, tty))
        self._tabs.active = "attach"

    def action_run_form(self, image: str = "") -> None:
        self.push_screen(RunScreen(image), self._run_submitted)

    def _run_submitted(self, request: RunRequest | None) -> None:
        if request is not None:
            self.run_container(request)

    @work(group="api")
    async def run_container(self, request: RunRequest) -> None:
        spec = request.spec()
        try:
            cid, warnings = await self.client.create_container(spec.config, spec.host_config, spec.name)
            for warning in warnings:
                self.notify(warning, severity="warning")
            await self.client.start(cid)
        except ClientError as exc:
            self.notify(str(exc), title=f"run {request.image}", severity="error", timeout=8)
            return
        self.notify(f"{spec.name or cid[:12]} started", title=f"run {request.image}", timeout=3)
        row = ContainerRow(cid, spec.name or cid[:12], request.image, request.command, 0, "running",
                           tty=spec.config.tty)
        if request.interactive_tty and not request.detach:
            self.open_attach(row)
        elif not request.detach:
            self.open_logs(row)

    def action_tab(self, tab: str) -> None:
        self._tabs.active = tab

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit_unless_terminal(self) -> None:
        from .terminal import TerminalView
        focused = self.focused
        if isinstance(focused, TerminalView):
            await focused.on_key(_CtrlQ())
            return
        await self.action_quit()


class _CtrlQ:
    """A stand-in Ctrl-Q key event for a terminal that has the focus."""
    key = "ctrl+q"
    character = "\x11"

    def stop(self) -> None: ...

    def prevent_default(self) -> None: ...


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyctr-tui", description="Full-screen manager for pyctrd")
    parser.add_argument("-H", "--host", default=None,
                        help="daemon socket (unix:///path or tcp://host:port); default: "
                             "$PYCTR_HOST, $DOCKER_HOST, " + hosts.DEFAULT_HOST)
    args = parser.parse_args(argv)
    try:
        hosts.parse(hosts.resolve(args.host))
    except ValueError as exc:
        print(f"pyctr-tui: {exc}", file=sys.stderr)
        return 2
    PyctrApp(args.host).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
