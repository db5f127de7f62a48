"""The pyctr-shell interpreter: what runs a line typed at the prompt, a `-c`
string or a script file.

Every pyctr command goes through the CLI's own `run_command`, so a command
means and prints exactly what it does under `pyctr`. Around it, a few
builtins make scripts possible without a new language: `name=value` and
`$name` (plus `$?`, `$0`, `$1`...), `set -e`/`set +e`, `echo`, `exit`,
`history` (with no argument; `history IMAGE` stays the image command),
`help` and the `py` escape (pyescape.py). Scripts and `-c` stop at the first
failing command unless `set +e`; at the prompt a failure never ends the REPL."""

from __future__ import annotations

import codecs
import io
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

from .cli import run_command
from .context import Context, describe
from .lexer import ASSIGNMENT, Command, PyBlock, ScriptError, ShellExit, lex

PROG = "pyctr-shell"
CAPTURE_LIMIT = 1 << 20  # keep at most this much of a command's output for `result`

BUILTINS = {
    "echo": "echo [ARG...]\n\nPrint the arguments (after $variable expansion), separated by spaces.",
    "exit": "exit [STATUS]\n\nLeave pyctr-shell with STATUS (default: the status of the last command, $?).",
    "help": "help [COMMAND]\n\nList the commands, or show how to use one of them.",
    "history": ("history\n\nList the lines typed at the prompt (kept in the history file).\n"
                "`history IMAGE` is the image command: the layers of IMAGE."),
    "py": ("py EXPRESSION | py STATEMENT | py BLOCK:\n\n"
           "Run Python. Names available: `client` (a connected pyctr API client),\n"
           "`result` (the last pyctr command: .argv .status .stdout .stderr .lines .data),\n"
           "`var` (the shell variables, a dict: py can set them too), `sh(line)` (run a\n"
           "pyctr-shell line, returns its result). An expression's value is printed.\n"
           "A first line ending with ':' (or `py` alone) opens a block of indented lines,\n"
           "ended by a blank line at the prompt or by the first unindented line in a script."),
    "quit": "quit\n\nThe same as exit.",
    "set": ("set [-e|+e]\n\n-e: stop a script or -c at the first failing command (their default).\n"
            "+e: go on after failures; check $? yourself.\nWith no argument: list the variables."),
}


@dataclass
class CommandResult:
    """What the last pyctr command did, for `py` and for `sh()`."""

    argv: list[str]
    status: int
    stdout: str = ""
    stderr: str = ""
    data: Any = None  # the last value the API client returned (a list of containers, ...)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


class _BytesCapture:
    """The `.buffer` of a Capture: bytes go through to the real buffer, and a
    decoded copy into the capture (BinaryOut writes container output here)."""

    def __init__(self, target: Any, owner: "Capture"):
        self._target = target
        self._owner = owner
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def write(self, data: bytes) -> int:
        self._target.write(data)
        self._owner.keep(self._decoder.decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self._target.flush()

    def reset(self) -> None:
        self._decoder.reset()


class Capture(io.TextIOBase):
    """A text stream that writes through to the terminal and keeps a bounded copy.

    It passes isatty() and fileno() through, so commands behave exactly as they
    do under `pyctr` (raw mode for `run -it`, progress bars, resize)."""

    def __init__(self, target: TextIO, limit: int = CAPTURE_LIMIT):
        super().__init__()
        self._target = target
        self._limit = limit
        self._kept: list[str] = []
        self._size = 0
        target_buffer = getattr(target, "buffer", None)
        self.buffer = _BytesCapture(target_buffer, self) if target_buffer is not None else None

    @property
    def target(self) -> TextIO:
        return self._target

    def keep(self, text: str) -> None:
        if text and self._size < self._limit:
            text = text[: self._limit - self._size]
            self._kept.append(text)
            self._size += len(text)

    def write(self, text: str) -> int:
        self._target.write(text)
        self.keep(text)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def getvalue(self) -> str:
        return "".join(self._kept)

    def reset(self) -> None:
        self._kept.clear()
        self._size = 0
        if self.buffer is not None:
            self.buffer.reset()


class RecordingClient:
    """The API client, remembering what each call returned during one command,
    so `py` can use the last command's data (`result.data`) rather than parse text."""

    _STREAMS = ("Response", "Hijacked")

    def __init__(self, client: Any):
        self.client = client
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            value = attr(*args, **kwargs)
            if type(value).__name__ not in self._STREAMS:
                self.calls.append((name, value))
            return value

        return call

    @property
    def data(self) -> Any:
        for _, value in reversed(self.calls):
            if value is not None:
                return value
        return None


class ShellContext(Context):
    """The CLI's Context with captured streams and a recording client."""

    def __init__(self, host: str | None = None, debug: bool = False,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 environ: Any = None):
        super().__init__(host=host, debug=debug, stdin=sys.stdin,
                         stdout=Capture(stdout or sys.stdout), stderr=Capture(stderr or sys.stderr),
                         environ=environ)
        self._recorder: RecordingClient | None = None

    @property
    def client(self) -> Any:  # type: ignore[override]
        if self._recorder is None:
            from pyctr.engine.client import Client
            from pyctr.engine.client.hosts import resolve

            self._recorder = RecordingClient(Client(resolve(self.host, self.environ)))
        return self._recorder

    @property
    def plain_client(self) -> Any:
        return self.client.client

    def begin(self) -> None:
        self.stdout.reset()
        self.stderr.reset()
        self.client.calls = []


class Shell:
    """Interpreter state: variables, $?, errexit, the last result."""

    def __init__(self, ctx: ShellContext, errexit: bool = False, argv0: str = PROG,
                 args: Sequence[str] = (), history: Callable[[], list[str]] | None = None,
                 on_command: Callable[[], None] | None = None):
        self.ctx = ctx
        self.errexit = errexit
        self.vars: dict[str, str] = {"0": argv0}
        self.vars.update({str(i): a for i, a in enumerate(args, 1)})
        self.status = 0
        self.last: CommandResult | None = None
        self.history = history
        self.on_command = on_command  # e.g. mark the completion cache stale
        self.interactive = False
        from .pyescape import PyEscape

        self.py = PyEscape(self)

    # --- output ---------------------------------------------------------------

    # The shell's own output bypasses the captures: `result` is the last pyctr
    # command's output, whatever builtins or py printed after it.

    def out(self, text: str) -> None:
        self.ctx.stdout.target.write(text)
        self.ctx.stdout.target.flush()

    def err(self, text: str) -> None:
        self.ctx.stderr.target.write(text)
        self.ctx.stderr.target.flush()

    # --- variables ------------------------------------------------------------

    def lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name in self.vars:
            return self.vars[name]
        if name in self.ctx.environ:
            return self.ctx.environ[name]
        if name.isdigit():
            return ""  # a missing script argument is empty, as in sh
        raise ScriptError(f"undefined variable: ${name}")

    # --- running --------------------------------------------------------------

    def run_source(self, text: str, where: str = "") -> tuple[int, bool]:
        """Run every statement of `text`. Returns (status, stopped): stopped is
        True when errexit ended it early (or it did not parse)."""
        try:
            script = lex(text)
        except ScriptError as exc:
            self.err(f"{PROG}: {where}{exc.message}\n")
            self.status = 2
            return 2, True
        for stmt in script.statements:
            status = self.run_statement(stmt, where)
            if status != 0 and self.errexit:
                return status, True
        return self.status, False

    def run_statement(self, stmt: Command | PyBlock, where: str = "") -> int:
        if isinstance(stmt, PyBlock):
            self.status = self.py.run(stmt.code, stmt.line)
            return self.status
        try:
            argv = [value for value in (w.expand(self.lookup) for w in stmt.words)
                    if value is not None]
        except ScriptError as exc:
            self.err(f"{PROG}: {where}line {stmt.line}: {exc.message}\n"
                     if where else f"{PROG}: {exc.message}\n")
            self.status = 1
            return 1
        if not argv:
            return self.status
        if all(w.parts and w.parts[0].kind == "text" and ASSIGNMENT.match(w.parts[0].value)
               for w in stmt.words):
            for value in argv:
                name, _, val = value.partition("=")
                self.vars[name] = val
            self.status = 0
            return 0
        builtin = getattr(self, "builtin_" + argv[0], None)
        if builtin is not None and not (argv[0] == "history" and len(argv) > 1):
            try:
                self.status = builtin(argv[1:])
            except ShellExit:
                raise
            except KeyboardInterrupt:
                self.status = 130
            return self.status
        return self.run_pyctr(argv).status

    def run_pyctr(self, argv: list[str]) -> CommandResult:
        """One pyctr command through the CLI's own grammar and handlers."""
        ctx = self.ctx
        ctx.begin()
        try:
            status = run_command(ctx, argv)
        except KeyboardInterrupt:
            status = 130
        except Exception as exc:  # noqa: BLE001 - a bug in a command must not end the REPL
            self.err(f"{PROG}: {argv[0]}: {type(exc).__name__}: {describe(exc)}\n")
            if ctx.debug:
                import traceback

                traceback.print_exc(file=sys.stderr)
            status = 1
        if status == 130 and self.interactive:
            self.out("\n")  # ^C left the cursor on the interrupted line
        result = CommandResult(argv, status, ctx.stdout.getvalue(), ctx.stderr.getvalue(),
                               ctx.client.data, list(ctx.client.calls))
        self.last = result
        self.status = status
        if self.on_command is not None:
            self.on_command()
        return result

    def sh(self, line: str) -> CommandResult:
        """Run a pyctr-shell line from Python; the result of its last pyctr command."""
        before = self.last
        status, _ = self.run_source(line)
        if self.last is not before and self.last is not None:
            return self.last
        return CommandResult([line], status)

    # --- builtins -------------------------------------------------------------

    def builtin_exit(self, args: list[str]) -> int:
        if len(args) > 1:
            self.err("exit: too many arguments\n")
            return 2
        if args and not args[0].lstrip("-").isdigit():
            self.err(f"exit: {args[0]}: numeric argument required\n")
            return 2
        raise ShellExit(int(args[0]) & 0xFF if args else self.status)

    builtin_quit = builtin_exit

    def builtin_set(self, args: list[str]) -> int:
        if not args:
            for name in sorted(self.vars):
                if not name.isdigit():
                    self.out(f"{name}={self.vars[name]}\n")
            return 0
        for arg in args:
            if arg == "-e":
                self.errexit = True
            elif arg == "+e":
                self.errexit = False
            else:
                self.err(f"set: unknown option {arg} (pyctr-shell knows -e and +e)\n")
                return 2
        return 0

    def builtin_echo(self, args: list[str]) -> int:
        self.out(" ".join(args) + "\n")
        return 0

    def builtin_history(self, args: list[str]) -> int:
        lines = self.history() if self.history is not None else []
        for number, line in enumerate(lines, 1):
            self.out(f"{number:5}  {line}\n")
        return 0

    def builtin_help(self, args: list[str]) -> int:
        if args and args[0] in BUILTINS:
            self.out(f"\nUsage: {BUILTINS[args[0]]}\n")
            return 0
        status = self.run_pyctr(["help", *args]).status
        if not args:
            self.out("\npyctr-shell builtins:\n")
            for name, text in BUILTINS.items():
                self.out(f"    {name:<10}{text.splitlines()[0]}\n")
        return status

    def builtin_py(self, args: list[str]) -> int:  # `py` reached only via lexing; kept for help
        return self.py.run(" ".join(args), 1)


def read_script(path: str) -> str:
    """A script file's text (a `#!/usr/bin/env pyctr-shell` line is a comment)."""
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_program(shell: Shell, text: str, where: str = "") -> int:
    """Run a script or -c text to its end (or its first failure under set -e)."""
    try:
        status, _ = shell.run_source(text, where)
    except ShellExit as exc:
        return exc.status
    return status

