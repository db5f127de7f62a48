"""The networks and volumes tabs: a list each, read afresh (one request) when the
daemon sends an event of its kind, with inspect, create, remove and prune."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from pyctr.engine.client.aio import Event
from pyctr.engine.client.errors import ClientError
from pyctr.engine.client.frontend.text import human_size

from .config import with_ids
from .dialogs import ConfirmScreen, InspectScreen

RELOAD_DELAY = 0.1   # events of one compose up arrive together: one reload for them


class CreateScreen(ModalScreen[dict | None]):
    """A small form: text fields and checkboxes -> {id: value}; Enter or Ctrl-S submits."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create")]

    def __init__(self, title: str, fields: list[tuple[str, str, str]],
                 checks: list[tuple[str, str]] = ()) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.fields, self.checks = title, fields, list(checks)

    def compose(self):
        with Vertical(classes="dialog-box run-form"):
            yield Label(self.title_text, classes="title")
            for wid, label, hint in self.fields:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(placeholder=hint, id=wid, compact=True)
            if self.checks:
                with Horizontal(classes="checks"):
                    for wid, label in self.checks:
                        yield Checkbox(label, id=wid, compact=True)
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Create ^S", id="create", variant="primary", compact=True)
                yield Button("Cancel Esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_submit(self) -> None:
        values: dict = {wid: self.query_one(f"#{wid}", Input).value.strip() for wid, _, _ in self.fields}
        values.update({wid: self.query_one(f"#{wid}", Checkbox).value for wid, _ in self.checks})
        first = self.fields[0][0]
        if not values[first]:
            self.query_one("#error", Static).update(Text(f"{self.fields[0][1]} is required", style="bold red"))
            return
        self.dismiss(values)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ResourceView(Vertical):
    """One list of daemon objects named by `key`; subclasses say how to read, draw and act."""

    KIND = ""           # "network", "volume": the event type and the words of messages
    COLUMNS: list[str] = []
    BINDINGS = with_ids("resources", [
        Binding("i,enter", "inspect", "Inspect"),
        Binding("n", "create", "Create…"),
        Binding("d", "remove", "Remove"),
        Binding("P", "prune", "Prune"),
    ])

    def __init__(self) -> None:
        super().__init__(id=f"{self.KIND}s-view", classes="panel")
        self.items: dict[str, dict] = {}
        self.loads = 0
        self._reload_handle: asyncio.TimerHandle | None = None

    def compose(self):
        yield Static("", classes="summary")
        table = DataTable(id=f"{self.KIND}s", cursor_type="row", zebra_stripes=True)
        table.add_columns(*self.COLUMNS)
        yield table

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    # --- what subclasses give -------------------------------------------------------
    async def fetch(self) -> list[dict]:
        raise NotImplementedError

    def key(self, item: dict) -> str:
        return item.get("Name") or ""

    def cells(self, item: dict) -> list:
        raise NotImplementedError

    # --- data -------------------------------------------------------------------------
    def apply_event(self, event: Event) -> None:
        if event.type == self.KIND and self._reload_handle is None:
            self._reload_handle = asyncio.get_running_loop().call_later(RELOAD_DELAY, self.reload)

    @work(exclusive=True, group="resource-reload")
    async def reload(self) -> None:
        self._reload_handle = None
        try:
            items = await self.fetch()
        except ClientError as exc:
            self.query_one(".summary", Static).update(Text(f" {self.KIND}s: {exc}", style="red"))
            return
        self.load(items)

    def load(self, items: list[dict]) -> None:
        self.loads += 1
        self.items = {self.key(item): item for item in sorted(items, key=self.key)}
        table = self.table
        selected = self.selected_key()
        table.clear()
        for key, item in self.items.items():
            table.add_row(*self.cells(item), key=key)
        if selected in self.items:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        self.query_one(".summary", Static).update(
            f" {len(self.items)} {self.KIND}s · i inspect · n create · d remove · P prune unused")

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def selected(self) -> str | None:
        key = self.selected_key()
        if key is None:
            self.app.notify(f"No {self.KIND} selected", severity="warning")
        return key

    # --- actions -------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_inspect()

    @work(group="inspect")
    async def action_inspect(self) -> None:
        key = self.selected()
        if key is None:
            return
        try:
            data = await self.inspect(key)
        except ClientError as exc:
            self.app.notify(str(exc), title=f"inspect {key}", severity="error")
            return
        await self.app.push_screen(InspectScreen(f"{self.KIND} {key}", data))

    def action_remove(self) -> None:
        key = self.selected()
        if key is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.api_action(f"{self.KIND} rm {key}", self.remove(key))
        self.app.push_screen(ConfirmScreen(f"Remove {self.KIND} {key}?"), answered)

    def action_prune(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.app.api_action(f"{self.KIND} prune", self.prune(), summary=self.pruned)
        self.app.push_screen(ConfirmScreen(f"Remove every unused {self.KIND}?"), answered)


class NetworksView(ResourceView):
    KIND = "network"
    COLUMNS = ["NAME", "DRIVER", "SCOPE", "SUBNET", "INTERNAL", "ID"]

    async def fetch(self) -> list[dict]:
        return await self.app.engine.networks()

    def cells(self, item: dict) -> list:
        subnets = ", ".join(c.get("Subnet", "") for c in (item.get("IPAM") or {}).get("Config") or []
                            if c.get("Subnet"))
        return [item.get("Name", ""), item.get("Driver", ""), item.get("Scope", ""), subnets,
                "yes" if item.get("Internal") else "", (item.get("Id") or "")[:12]]

    async def inspect(self, key: str) -> dict:
        return await self.app.engine.inspect_network(key)

    async def remove(self, key: str) -> None:
        await self.app.engine.remove_network(key)

    async def prune(self) -> dict:
        return await self.app.engine.prune_networks()

    @staticmethod
    def pruned(result: dict) -> str:
        names = result.get("NetworksDeleted") or []
        return f"removed {len(names)}: {', '.join(names)}" if names else "nothing to remove"

    def action_create(self) -> None:
        def submitted(values: dict | None) -> None:
            if values:
                self.app.api_action(f"network create {values['name']}", self.app.engine.create_network(
                    values["name"], values["driver"], values["subnet"], values["internal"]),
                    summary=lambda r: f"id {(r.get('Id') or '')[:12]}"
                    + (f" · {r['Warning']}" if r.get("Warning") else ""))
        self.app.push_screen(CreateScreen(
            "Create a network — docker network create",
            [("name", "Name", "required"), ("driver", "Driver", "bridge"),
             ("subnet", "Subnet", "optional, e.g. 10.20.0.0/24")],
            [("internal", "--internal (no outside access)")]), submitted)


class VolumesView(ResourceView):
    KIND = "volume"
    COLUMNS = ["NAME", "DRIVER", "MOUNTPOINT", "LABELS"]

    async def fetch(self) -> list[dict]:
        return await self.app.engine.volumes()

    def cells(self, item: dict) -> list:
        labels = ",".join(f"{k}={v}" for k, v in (item.get("Labels") or {}).items())
        return [item.get("Name", ""), item.get("Driver", ""), item.get("Mountpoint", ""), labels]

    async def inspect(self, key: str) -> dict:
        return await self.app.engine.inspect_volume(key)

    async def remove(self, key: str) -> None:
        await self.app.engine.remove_volume(key)

    async def prune(self) -> dict:
        return await self.app.engine.prune_volumes()

    @staticmethod
    def pruned(result: dict) -> str:
        names = result.get("VolumesDeleted") or []
        space = human_size(int(result.get("SpaceReclaimed") or 0))
        return f"removed {len(names)} ({space}): {', '.join(names)}" if names else "nothing to remove"

    def action_create(self) -> None:
        def submitted(values: dict | None) -> None:
            if values:
                self.app.api_action(f"volume create {values['name']}",
                                    self.app.engine.create_volume(values["name"], values["driver"]),
                                    summary=lambda r: f"mountpoint {r.get('Mountpoint', '')}")
        self.app.push_screen(CreateScreen(
            "Create a volume — docker volume create",
            [("name", "Name", "required"), ("driver", "Driver", "local")]), submitted)
