"""The table of commands: name -> defining module, loaded on first use so that
`pyctr --version` or `pyctr ps` import only what they need.

Each `cmd_*` module declares its commands with `@command(...)`: one parser
definition per docker command, next to its handler. The REPL uses `load()` and
`Command.parse()` from here to share the grammar."""

from __future__ import annotations

import importlib
from typing import Callable

from pyctr.engine.client.frontend.flags import Command, Flag

MODULES = {
    "attach": "cmd_containers", "build": "cmd_images", "commit": "cmd_containers",
    "cp": "cmd_containers", "create": "cmd_run", "diff": "cmd_containers",
    "events": "cmd_system", "exec": "cmd_exec", "export": "cmd_containers", "history": "cmd_images",
    "images": "cmd_images", "import": "cmd_images", "info": "cmd_system",
    "inspect": "cmd_system", "kill": "cmd_containers", "load": "cmd_images",
    "login": "cmd_registry", "logout": "cmd_registry", "logs": "cmd_containers",
    "pause": "cmd_containers", "port": "cmd_containers", "ps": "cmd_containers",
    "pull": "cmd_registry", "push": "cmd_registry", "restart": "cmd_containers",
    "rm": "cmd_containers", "rmi": "cmd_images", "run": "cmd_run", "save": "cmd_images",
    "search": "cmd_registry", "start": "cmd_containers", "stop": "cmd_containers",
    "tag": "cmd_images", "top": "cmd_containers", "unpause": "cmd_containers",
    "version": "cmd_system", "wait": "cmd_containers",
}

REGISTRY: dict[str, Command] = {}


def command(name: str, usage: str, description: str, *flags: Flag, min_args: int = 0,
            max_args: int | None = 0, summary: str = "") -> Callable:
    """Declare a command; the decorated function is its handler(ctx, opts, args) -> int."""

    def register(handler: Callable) -> Callable:
        REGISTRY[name] = Command(name, usage, description, flags, handler, min_args, max_args, summary)
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
