"""Docker-style command grammar: one `Command` per docker command, built from `Flag`s.

The semantics are those of Docker 1.2's flag package (mflag), which differ from
argparse in ways users rely on:

- flags stop at the first positional argument, so `run busybox ls -l` gives
  `-l` to ls, not to run;
- booleans take an optional `=value` (`--rm=false`, `--sig-proxy=false`, `-d=true`);
- single-letter flags combine (`-ti`, `-dit`), and a value may follow a letter
  directly (`-p80:80`, `-n=5`);
- repeatable flags (`-e`, `-v`, `-p`) collect into a list.

The type of a flag follows from its default: False/True = bool, "" or a string
= string, an int = int, a list = repeatable.
"""

from __future__ import annotations

from types import SimpleNamespace
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

from .text import tabwrite

PROG = "pyctr"


class UsageError(Exception):
    """Bad command line. `command` names the command whose --help to suggest."""

    status = 2

    def __init__(self, message: str, command: str = ""):
        super().__init__(message)
        self.message = message
        self.command = command


class HelpRequested(Exception):
    def __init__(self, command: "Command"):
        super().__init__(command.name)
        self.command = command


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def parse_bool(text: str, flag: str) -> bool:
    # Go's strconv.ParseBool, which is what `-d=false` goes through in Docker.
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f'invalid boolean value "{text}" for flag {flag}')


class Flag:
    def __init__(self, *names: str, default: Any = False, help: str = "", dest: str = "",
                 kind: type | None = None):
        """`kind`: the type when the default does not say it (a default of None, kept
        when the flag is not given: docker's "was it changed", as `--init` needs)."""
        assert names and all(n.startswith("-") for n in names), names
        self.names = names
        self.default = default
        self.help = help
        longest = max(names, key=len)
        self.dest = dest or longest.lstrip("-").replace("-", "_")
        if kind is not None:
            self.kind = kind
        elif isinstance(default, bool):
            self.kind = bool
        elif isinstance(default, int):
            self.kind = int
        elif isinstance(default, list):
            self.kind = list
        else:
            self.kind = str

    @property
    def sort_key(self) -> str:
        name = self.names[0].lstrip("-")
        return name.lower() + " " + name  # -P before -p, as docker listed them

    def default_text(self) -> str:
        if self.default is None:
            return {bool: "false", int: "0"}.get(self.kind, '""')
        if self.kind is bool:
            return "true" if self.default else "false"
        if self.kind is list:
            return "[" + " ".join(self.default) + "]"
        if self.kind is str:
            return '"' + self.default.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(self.default)

    def convert(self, text: str, shown: str) -> Any:
        if self.kind is int:
            try:
                return int(text, 10)
            except ValueError:
                raise UsageError(f'invalid value "{text}" for flag {shown}: not an integer') from None
        return text


class Command:
    """One docker command: its name, usage line, description, flags and handler.

    `min_args`/`max_args` bound the positional arguments (max None = any)."""

    usage_status = 2   # the exit code of a bad command line (docker's run/create say 125)

    def __init__(self, name: str, usage: str, description: str, flags: Sequence[Flag] = (),
                 handler: Callable | None = None, min_args: int = 0, max_args: int | None = 0,
                 summary: str = ""):
        self.name = name
        self.summary = summary or description  # the one-liner in `pyctr --help`
        self.usage = usage
        self.description = description
        self.flags = sorted(flags, key=lambda f: f.sort_key)
        self.handler = handler
        self.min_args = min_args
        self.max_args = max_args
        self._by_name = {n: f for f in self.flags for n in f.names}

    def parse(self, argv: Sequence[str]) -> tuple[SimpleNamespace, list[str]]:
        values = {f.dest: (list(f.default) if f.kind is list else f.default) for f in self.flags}

        def put(flag: Flag, value: Any) -> None:
            if flag.kind is list:
                values[flag.dest].append(value)
            else:
                values[flag.dest] = value

        argv = list(argv)
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                i += 1
                break
            if not arg.startswith("-") or arg == "-":
                break
            if arg.startswith("--"):
                name, eq, text = arg.partition("=")
                flag = self._lookup(name)
                if flag.kind is bool:
                    put(flag, parse_bool(text, name) if eq else True)
                elif eq:
                    put(flag, flag.convert(text, name))
                else:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"flag needs an argument: {name}", self.name)
                    put(flag, flag.convert(argv[i], name))
            else:
                letters = arg[1:]
                j = 0
                while j < len(letters):
                    name = "-" + letters[j]
                    flag = self._lookup(name)
                    rest = letters[j + 1:]
                    if flag.kind is bool:
                        if rest.startswith("="):
                            put(flag, parse_bool(rest[1:], name))
                            break
                        put(flag, True)
                        j += 1
                        continue
                    if rest.startswith("="):
                        rest = rest[1:]
                    if not rest:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"flag needs an argument: {name}", self.name)
                        rest = argv[i]
                    put(flag, flag.convert(rest, name))
                    break
            i += 1
        args = argv[i:]
        if len(args) < self.min_args or (self.max_args is not None and len(args) > self.max_args):
            raise UsageError(self._count_message(len(args)), self.name)
        return SimpleNamespace(**values), args

    def _lookup(self, name: str) -> Flag:
        flag = self._by_name.get(name)
        if flag is None:
            if name in ("--help", "-h", "-help"):
                raise HelpRequested(self)
            raise UsageError(f"flag provided but not defined: {name}", self.name)
        return flag

    def _count_message(self, got: int) -> str:
        cmd = f'"{PROG} {self.name}"'
        lo, hi = self.min_args, self.max_args
        if hi == lo:
            if lo == 0:
                return f"{cmd} accepts no arguments."
            return f"{cmd} requires exactly {lo} argument{'s' if lo != 1 else ''}."
        if got < lo:
            return f"{cmd} requires at least {lo} argument{'s' if lo != 1 else ''}."
        return f"{cmd} requires at most {hi} argument{'s' if hi != 1 else ''}."

    def help_text(self) -> str:
        head = f"Usage: {PROG} {self.name} {self.usage}".rstrip()
        text = f"\n{head}\n\n{self.description}\n\n"
        return text + flag_table(self.flags)


def flag_table(flags: Sequence[Flag]) -> str:
    """Flags as mflag's PrintDefaults laid them out (a tabwriter, minwidth 20)."""
    rows = []
    for flag in flags:
        lines = flag.help.split("\n")
        rows.append(f"  {', '.join(flag.names)}={flag.default_text()}\t {lines[0]}\n")
        rows.extend(f"\t   {line}\n" for line in lines[1:])
    return tabwrite("".join(rows))
