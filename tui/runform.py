"""The "run" form's fields -> the same `RunSpec` that `pyctr run` builds, by way
of the CLI's own flag grammar and checks (engine/client/frontend/runflags.py), so a bad port or
volume gets the CLI's message."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from pyctr.engine.client.frontend.flags import Command, UsageError
from pyctr.engine.client.frontend.runflags import RUN_FLAGS, RunSpec, SpecError, build_spec

_RUN = Command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "", RUN_FLAGS, min_args=1, max_args=None)


class FormError(ValueError):
    pass


@dataclass
class RunRequest:
    image: str
    name: str = ""
    command: str = ""
    env: list[str] = field(default_factory=list)       # KEY=value
    ports: list[str] = field(default_factory=list)     # -p forms
    volumes: list[str] = field(default_factory=list)   # -v forms
    interactive_tty: bool = False                      # -it
    detach: bool = True                                # -d

    def argv(self) -> list[str]:
        try:
            command = shlex.split(self.command)
        except ValueError as exc:
            raise FormError(f"command: {exc}") from None
        argv = ["--name", self.name] if self.name else []
        for flag, values in (("-e", self.env), ("-p", self.ports), ("-v", self.volumes)):
            for value in values:
                argv += [flag, value]
        if self.interactive_tty:
            argv += ["-i", "-t"]
        if self.detach:
            argv.append("-d")
        return argv + ["--", self.image.strip(), *command] if self.image.strip() else argv

    def spec(self) -> RunSpec:
        if not self.image.strip():
            raise FormError("an image is required")
        try:
            opts, args = _RUN.parse(self.argv())
            return build_spec(opts, args, {})
        except (UsageError, SpecError) as exc:
            raise FormError(str(getattr(exc, "message", exc))) from None


def split_list(text: str) -> list[str]:
    """Several values in one field: separated by commas or spaces (quotes allowed)."""
    try:
        return [v for part in shlex.split(text.replace(",", " ")) for v in [part.strip()] if v]
    except ValueError as exc:
        raise FormError(str(exc)) from None
