"""The table of commands: name -> defining module, loaded on first use so that
`pyctr --version` or `pyctr ps` import only what they need.

Each `cmd_*` module declares its commands with `@command(...)`: one parser
definition per docker command, next to its handler. The REPL uses `load()` and
`Command.parse()` from here to share the grammar."""

from __future__ import annotations

import importlib
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Callable

from pyctr.engine.client.frontend.flags import Command, Flag

MODULES = {
    "attach": "cmd_containers", "build": "cmd_images", "commit": "cmd_containers", "container": "cmd_groups", "completion": "cmd_completion",
    "cp": "cmd_containers", "create": "cmd_run", "diff": "cmd_containers",
    "events": "cmd_system", "exec": "cmd_exec", "export": "cmd_containers", "history": "cmd_images", "image": "cmd_groups",
    "images": "cmd_images", "import": "cmd_images", "info": "cmd_system",
    "inspect": "cmd_system", "kill": "cmd_containers", "load": "cmd_images",
    "login": "cmd_registry", "network": "cmd_network", "logout": "cmd_registry", "logs": "cmd_containers",
    "pause": "cmd_containers", "port": "cmd_containers", "ps": "cmd_containers",
    "pull": "cmd_registry", "push": "cmd_registry", "rename": "cmd_containers",
    "stats": "cmd_stats", "system": "cmd_system_group",
    "restart": "cmd_containers",
    "rm": "cmd_containers", "rmi": "cmd_images", "run": "cmd_run", "save": "cmd_images",
    "search": "cmd_registry", "start": "cmd_containers", "stop": "cmd_containers",
    "tag": "cmd_images", "top": "cmd_containers", "unpause": "cmd_containers",
    "update": "cmd_update", "version": "cmd_system", "volume": "cmd_volume", "wait": "cmd_containers",
}

REGISTRY: dict[str, Command] = {}


def command(name: str, usage: str, description: str, *flags: Flag, min_args: int = 0,
            max_args: int | None = 0, summary: str = "", usage_status: int = 2) -> Callable:
    """Declare a command; the decorated function is its handler(ctx, opts, args) -> int.
    `usage_status`: the exit code of a bad command line (docker's run/create: 125)."""

    def register(handler: Callable) -> Callable:
        cmd = Command(name, usage, description, flags, handler, min_args, max_args, summary)
        cmd.usage_status = usage_status
        REGISTRY[name] = cmd
        return handler

    return register


def load(name: str) -> Command | None:
    module = MODULES.get(name)
    if module is None:
        return None
    if name not in REGISTRY:
        importlib.import_module(f"{__package__}.{module}")
    return REGISTRY[name]


def all_commands() -> list[Command]:
    return [load(name) for name in sorted(MODULES)]  # type: ignore[misc]
