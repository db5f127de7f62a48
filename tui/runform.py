"""The "run" form's fields -> the same `RunSpec` that `pyctr run` builds, by way
of the CLI's own flag grammar and checks (engine/client/frontend/runflags.py), so a bad port or
volume gets the CLI's message."""

from __future__ import annotations

import re
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


# A new KEY= starts a new variable; anything else (spaces, commas) is part of the value.
_ENV_START = re.compile(r"(?:^|[,\s]+)(?=[A-Za-z_][A-Za-z0-9_.-]*=)")


def split_env(text: str) -> list[str]:
    """The Env field: `A=1, B=two words` is A=1 and `B=two words`, as -e would take
    them one by one; a word without `=` before the first KEY= is a variable of its
    own taken from the environment (`-e NAME`), as `pyctr run -e NAME` does."""
    text = text.strip()
    if not text:
        return []
    first = _ENV_START.search(text)
    head = text[:first.start()] if first else text
    items = [w for w in re.split(r"[,\s]+", head) if w]
    if first:
        items += [part.strip().rstrip(",").strip() for part in _ENV_START.split(text[first.start():])
                  if part.strip()]
    return items


def split_list(text: str) -> list[str]:
    """Several values in one field: separated by commas or spaces (quotes allowed)."""
    try:
        return [v for part in shlex.split(text.replace(",", " ")) for v in [part.strip()] if v]
    except ValueError as exc:
        raise FormError(str(exc)) from None
