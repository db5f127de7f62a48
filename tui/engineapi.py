"""The API calls of the TUI's newer screens (networks, volumes, prune, exec), made
at API 1.41 as the daemon's reference defines them; the older screens use the
client's default version (engine/client/aio.py)."""

from __future__ import annotations

from typing import Any, AsyncIterator

from pyctr.engine.client.aio import AsyncClient
from pyctr.engine.client.api import MODERN_API_VERSION
from pyctr.engine.client.endpoints import quote_name


class EngineCalls:
    def __init__(self, host: str | None) -> None:
        self.client = AsyncClient(host, version=MODERN_API_VERSION)

    async def close(self) -> None:
        await self.client.close()

    # --- networks ------------------------------------------------------------
    async def networks(self) -> list[dict]:
        return await self.client.json("GET", "/networks") or []

    async def inspect_network(self, name: str) -> dict:
        return await self.client.json("GET", f"/networks/{quote_name(name)}") or {}

    async def create_network(self, name: str, driver: str = "", subnet: str = "",
                             internal: bool = False) -> dict:
        body: dict[str, Any] = {"Name": name, "CheckDuplicate": True}
        if driver:
            body["Driver"] = driver
        if subnet:
            body["IPAM"] = {"Driver": "default", "Config": [{"Subnet": subnet}]}
        if internal:
            body["Internal"] = True
        return await self.client.json("POST", "/networks/create", body=body) or {}

    async def remove_network(self, name: str) -> None:
        await self.client.call("DELETE", f"/networks/{quote_name(name)}")

    async def prune_networks(self) -> dict:
        return await self.client.json("POST", "/networks/prune") or {}

    # --- volumes ----------------------------------------------------------------
    async def volumes(self) -> list[dict]:
        return (await self.client.json("GET", "/volumes") or {}).get("Volumes") or []

    async def inspect_volume(self, name: str) -> dict:
        return await self.client.json("GET", f"/volumes/{quote_name(name)}") or {}

    async def create_volume(self, name: str, driver: str = "") -> dict:
        body: dict[str, Any] = {"Name": name}
        if driver:
            body["Driver"] = driver
        return await self.client.json("POST", "/volumes/create", body=body) or {}

    async def remove_volume(self, name: str, force: bool = False) -> None:
        await self.client.call("DELETE", f"/volumes/{quote_name(name)}",
                               {"force": True if force else None})

    async def prune_volumes(self) -> dict:
        return await self.client.json("POST", "/volumes/prune") or {}

    # --- containers ---------------------------------------------------------------
    async def prune_containers(self) -> dict:
        return await self.client.json("POST", "/containers/prune") or {}

    async def stats_readings(self, container: str) -> AsyncIterator[dict]:
        """The stats stream's readings whole (NET and BLOCK I/O too, which the summary
        sample of aio.StatsSample leaves out)."""
        resp = await self.client.request("GET", f"/containers/{quote_name(container)}/stats",
                                         {"stream": True}, timeout=None)
        async for reading in self.client._messages(resp):
            yield reading

    async def exec_create(self, container: str, cmd: list[str], tty: bool) -> str:
        body = {"Cmd": cmd, "Tty": tty, "AttachStdin": True, "AttachStdout": True,
                "AttachStderr": True}
        return (await self.client.json("POST", f"/containers/{quote_name(container)}/exec",
                                       body=body))["Id"]

    async def exec_resize(self, exec_id: str, rows: int, cols: int) -> None:
        await self.client.call("POST", f"/exec/{exec_id}/resize", {"h": rows, "w": cols})

    async def exec_inspect(self, exec_id: str) -> dict:
        return await self.client.json("GET", f"/exec/{exec_id}/json") or {}
