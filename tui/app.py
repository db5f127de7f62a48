"""pyctr-tui: the full-screen manager of a pyctrd (or any Docker 1.2-API daemon).

One connection watch runs the whole time: connect, read the container and
image lists once, then follow the event stream and let each panel update the
rows an event names. When the daemon goes away a banner says so, and the watch
retries every RETRY seconds; on success everything is read afresh."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

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
from .commandlog import CommandLog
from . import config
from .config import TuiConfig, with_ids
from .containers import ContainersView
from .engineapi import EngineCalls
from .dialogs import HelpScreen, RunScreen
from .images import ImagesView
from .logview import LogView
from .model import ContainerRow
from .resources import NetworksView, VolumesView
from .runform import RunRequest

RETRY = 1.0
EVENTS_KEPT = 1000
MAX_PANES = 4


@dataclass(frozen=True)
class Tab:
    id: str
    label: str
    name: str
    focus: str     # what takes the focus (and Tab cycles) in the tab


TABS = [Tab("containers", "1 Containers", "Containers", "#containers"),
        Tab("images", "2 Images", "Images", "#image-tree"),
        Tab("logs", "3 Logs", "Logs", "LogView RichLog"),
        Tab("attach", "4 Attach", "Attach", "AttachView TerminalView, AttachView .attach-output"),
        Tab("events", "5 Events", "Events", "#events-view"),
        Tab("networks", "6 Nets", "Networks", "#networks"),
        Tab("volumes", "7 Vols", "Volumes", "#volumes"),
        Tab("commands", "8 Cmds", "Command log", "#command-log")]
FOCUS_OF_TAB = {tab.id: tab.focus for tab in TABS}


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
    BINDINGS = with_ids("app", [
        # Quit, unless the focus is in a terminal: there Ctrl-Q is the container's
        # (and the second key of Docker's Ctrl-P Ctrl-Q detach).
        Binding("ctrl+q", "quit_unless_terminal", "Quit", show=False, priority=True, id="app.quit_asking"),
        Binding("q", "quit", "Quit"),
        # Priority: the focus moves before the next key is routed, so keys typed right after
        # Tab land in the new field; and Tab cycles the panes of the tab, never the tab bar.
        Binding("tab", "next_pane(1)", "Next pane", show=False, priority=True, id="app.next_pane"),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False, priority=True,
                id="app.previous_pane"),
        Binding("question_mark", "help", "Help"),
    ] + [Binding(str(number), f"tab('{tab.id}')", tab.name, show=False)
         for number, tab in enumerate(TABS, 1)])

    def __init__(self, host: str | None = None, config_path: str | None = None) -> None:
        """`config_path`: the config file (default: $PYCTR_TUI_CONFIG, else the XDG place)."""
        super().__init__()
        self.tui_config: TuiConfig = config.load(config_path or config.default_path(), binding_scopes(),
                                             set(self.available_themes))
        self.client = AsyncClient(host)
        self.engine = EngineCalls(host)
        self.connected = False
        self.connections = 0          # successful (re)connections, for tests
        self.last_error = ""
        self.sub_title = self.client.host_url
        # Held here, not queried: App.query looks at the top screen, which may be a dialog.
        self._containers = ContainersView(self.tui_config.commands)
        self._images = ImagesView()
        self._events = EventsView()
        self._networks = NetworksView()
        self._volumes = VolumesView()
        self.command_log = CommandLog()
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
        contents = {"containers": [self._containers], "images": [self._images],
                    "logs": [self._no_logs, self._log_panes], "attach": [self._no_attach, self._attach_panes],
                    "events": [self._events], "networks": [self._networks], "volumes": [self._volumes],
                    "commands": [self.command_log]}
        with self._tabs:
            for tab in TABS:
                with TabPane(tab.label, id=tab.id):
                    yield from contents[tab.id]
        yield Footer(compact=True)   # compact: every key of the list fits in 80 columns

    def on_mount(self) -> None:
        if self.tui_config.theme:
            self.theme = self.tui_config.theme
        self.set_keymap(self.tui_config.keymap)
        if self.tui_config.problems:
            from .dialogs import MessageScreen
            for problem in self.tui_config.problems:
                self.command_log.add("config", False, problem)
            self.push_screen(MessageScreen(
                f"{len(self.tui_config.problems)} problem(s) in the config file: those entries keep "
                "their defaults, the rest applies (Esc continues)", self.tui_config.problems))
        self.show_banner("Connecting to " + self.client.host_url + " …")
        self.containers_view.table.focus()
        self._sync_placeholders()
        self.watch_connection()

    def _sync_placeholders(self) -> None:
        """Called when a pane opens or closes (a timer polling for it woke an idle TUI
        three times a second)."""
        self._no_logs.display = not self._log_panes.children
        self._no_attach.display = not self._attach_panes.children

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Put the focus where the keys of the new tab work."""
        self.focus_tab(event.pane)

    def focus_tab(self, pane, prefer=None) -> None:
        """Focus `prefer` (a pane just opened), else the tab's last pane, else its list.
        The last pane, not the first: the newest is the one the user just asked for."""
        if prefer is not None and prefer.is_attached:
            prefer.focus()
            return
        found = pane.query(FOCUS_OF_TAB.get(pane.id or "", "#none"))
        if found:
            found.last().focus()
        elif pane.id in ("logs", "attach"):
            # the list, unless the app is closing (its widgets already gone)
            for table in self.containers_view.query("#containers"):
                table.focus()

    def pane_targets(self, pane) -> list:
        """The widgets Tab cycles through in a tab: one per pane (log and attach panes),
        else the tab's list; the filter line while it is open."""
        if pane.id == "logs":
            return [view.log_widget for view in pane.query(LogView)]
        if pane.id == "attach":
            return [view.focus_target for view in pane.query(AttachView)]
        if pane.id == "containers":
            view = self.containers_view
            return [view.table] + ([view.query_one("#filter")] if view.has_class("filtering") else [])
        return list(pane.query(FOCUS_OF_TAB.get(pane.id or "", "#none")))

    def action_next_pane(self, step: int) -> None:
        from textual.actions import SkipAction
        from .terminal import TerminalView
        if self.screen is not self.screen_stack[0]:
            # a dialog: its fields in order, moved now (a key typed next goes to the new field)
            (self.screen.focus_next if step > 0 else self.screen.focus_previous)()
            return
        if isinstance(self.focused, TerminalView) and self.focused.live:
            raise SkipAction()   # the container's Tab (routed in order with the keys before it)
        self._cycle_panes(step)

    def _cycle_panes(self, step: int) -> None:
        pane = self._tabs.active_pane
        if pane is None:
            return
        targets = [t for t in self.pane_targets(pane) if t.focusable]
        if not targets:
            self.focus_tab(pane)
            return
        focused = self.focused
        index = next((i for i, t in enumerate(targets)
                      if focused is not None and (focused is t or t in focused.ancestors)), -1)
        if index < 0:
            # inside a pane but not its target (a log's search line): that pane counts
            index = next((i for i, t in enumerate(targets) if focused is not None
                          and t.parent in focused.ancestors_with_self), -1)
        targets[(index + step) % len(targets) if index >= 0 else 0].focus()

    def leave_terminal(self, terminal) -> None:
        """Ctrl-P Tab: the next pane, or (the only pane) the tab bar, where the keys are the app's."""
        self._cycle_panes(1)
        if self.focused is terminal:
            self._tabs.query_one("ContentTabs").focus()

    def pane_closed(self) -> None:
        """A log or attach pane went away: give the focus to a pane left in its tab, or
        the containers list, so the keys and the footer are never those of nothing.
        After a refresh: Textual moves the focus of a removed widget on to the tab bar."""
        self.call_after_refresh(self._refocus_after_close)

    def _refocus_after_close(self) -> None:
        self._sync_placeholders()
        active = self._tabs.active_pane
        if active is not None and active.id in ("logs", "attach") and active.query(
                "LogView, AttachView"):
            self.focus_tab(active)
            return
        self._tabs.active = "containers"
        self.containers_view.table.focus()

    async def on_unmount(self) -> None:
        await self.client.close()
        await self.engine.close()

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
        # At 1.41 the summaries carry the labels (compose projects); 1.14's have none.
        containers = await self.engine.client.containers(all=True)
        images = await self.client.images(all=True)
        networks = await self.engine.networks()
        volumes = await self.engine.volumes()
        self.containers_view.load(containers)
        self.images_view.load(images)
        self._networks.load(networks)
        self._volumes.load(volumes)
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
        self._networks.apply_event(event)
        self._volumes.apply_event(event)

    # --- actions shared by the panels ------------------------------------------------
    def api_action(self, what: str, call: Awaitable, quiet: bool = False,
                   summary: Callable[[Any], str] | None = None) -> None:
        """Run an API call; a failure shows the daemon's message, never a traceback.
        Each one goes to the command log with its result."""
        async def run() -> None:
            await self.run_logged(what, call, quiet, summary)
        self.run_worker(run(), group="api", exit_on_error=False)

    async def run_logged(self, what: str, call: Awaitable, quiet: bool = False,
                         summary: Callable[[Any], str] | None = None) -> tuple[bool, Any]:
        try:
            result = await call
        except ClientError as exc:
            self.command_log.add(what, False, str(exc))
            self.notify(str(exc), title=what, severity="error", timeout=8)
            return False, None
        text = summary(result) if summary else ""
        self.command_log.add(what, True, text)
        if not quiet:
            self.notify(f"{what}: {text}" if text else what, title="done", timeout=3)
        return True, result

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
        self._sync_placeholders()
        self._tabs.active = "logs"
        self.call_after_refresh(self.focus_tab, self._tabs.get_pane("logs"), view.log_widget)

    @work(group="panes")
    async def open_merged_logs(self, rows: list[ContainerRow], title: str) -> None:
        from .logview import MergedLogView
        sources = []
        for row in rows:
            tty = await self._tty_of(row)
            if tty is None:
                return
            sources.append((row.id, row.name or row.short_id, tty))
        panes = self._log_panes
        if len(panes.children) >= MAX_PANES:
            await panes.children[0].remove()
        view = MergedLogView(sources, title)
        await panes.mount(view)
        self._sync_placeholders()
        self._tabs.active = "logs"
        self.call_after_refresh(self.focus_tab, self._tabs.get_pane("logs"), view.log_widget)

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
        view = AttachView(row.id, row.name or row.short_id, tty)
        await panes.mount(view)
        self._sync_placeholders()
        self._tabs.active = "attach"
        # After the tab's own focus move, which would pick another pane.
        self.call_after_refresh(self.focus_tab, self._tabs.get_pane("attach"), view.focus_target)

    @work(group="panes")
    async def open_exec(self, row: ContainerRow, command: list[str]) -> None:
        from .attachview import ExecView
        if row.state != "running":
            self.notify(f"{row.name} is not running: exec needs a running container", severity="error")
            return
        panes = self._attach_panes
        if len(panes.children) >= MAX_PANES:
            self.notify(f"At most {MAX_PANES} attach/exec panes: close one first", severity="warning")
            return
        view = ExecView(row.id, row.name or row.short_id, command, tty=True)
        await panes.mount(view)
        self._sync_placeholders()
        self._tabs.active = "attach"
        self.call_after_refresh(self.focus_tab, self._tabs.get_pane("attach"), view.focus_target)

    def action_run_form(self, image: str = "") -> None:
        self.push_screen(RunScreen(image), self._run_submitted)

    def _run_submitted(self, request: RunRequest | None) -> None:
        if request is not None:
            self.run_container(request)

    @work(group="api")
    async def run_container(self, request: RunRequest) -> None:
        spec = request.spec()
        what = f"run {spec.name + ' ' if spec.name else ''}{request.image}"
        try:
            cid, warnings = await self.client.create_container(spec.config, spec.host_config, spec.name)
            for warning in warnings:
                self.notify(warning, severity="warning")
            await self.client.start(cid)
        except ClientError as exc:
            self.command_log.add(what, False, str(exc))
            self.notify(str(exc), title=f"run {request.image}", severity="error", timeout=8)
            return
        self.command_log.add(what, True, f"id {cid[:12]}" + "".join(f" · {w}" for w in warnings))
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
        if isinstance(focused, TerminalView) and focused.live:
            await focused.on_key(_CtrlQ())
            return
        sessions = len(self._attach_panes.children)
        if sessions:
            # A detach sequence that missed its pane must not end every session unasked.
            def answered(yes: bool | None) -> None:
                if yes:
                    self.exit()
            from .dialogs import ConfirmScreen
            self.push_screen(ConfirmScreen(
                f"Quit pyctr-tui? {sessions} attach pane(s) are open (Ctrl-P Ctrl-Q detaches "
                "only in a focused terminal)."), answered)
            return
        await self.action_quit()


class _CtrlQ:
    """A stand-in Ctrl-Q key event for a terminal that has the focus."""
    key = "ctrl+q"
    character = "\x11"

    def stop(self) -> None: ...

    def prevent_default(self) -> None: ...


def binding_scopes() -> dict[str, list[Binding]]:
    """The bindings a config file's [keys.<scope>] may change, by scope."""
    from .detail import DetailScreen
    from .resources import ResourceView
    return {"app": PyctrApp.BINDINGS, "containers": ContainersView.BINDINGS, "images": ImagesView.BINDINGS,
            "logs": LogView.BINDINGS, "resources": ResourceView.BINDINGS, "detail": DetailScreen.BINDINGS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyctr-tui", description="Full-screen manager for pyctrd")
    parser.add_argument("-H", "--host", default=None,
                        help="daemon socket (unix:///path or tcp://host:port); default: "
                             "$PYCTR_HOST, $DOCKER_HOST, " + hosts.DEFAULT_HOST)
    parser.add_argument("-c", "--config", default=None,
                        help=f"config file (keys, theme, commands); default: ${config.ENV_VAR}, "
                             "$XDG_CONFIG_HOME/pyctr/tui.toml (~/.config/pyctr/tui.toml)")
    args = parser.parse_args(argv)
    if args.config and not os.path.isfile(args.config):
        print(f"pyctr-tui: config file {args.config}: no such file", file=sys.stderr)
        return 2
    try:
        hosts.parse(hosts.resolve(args.host))
    except ValueError as exc:
        print(f"pyctr-tui: {exc}", file=sys.stderr)
        return 2
    PyctrApp(args.host, args.config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
