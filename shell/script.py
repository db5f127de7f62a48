"""The pyctr-shell interpreter: what runs a line typed at the prompt, a `-c`
string or a script file.

The text is parsed (parser.py: a small subset of the POSIX shell) and the tree
walked here. Every pyctr command goes through the CLI's own `run_command`, so a
command means and prints exactly what it does under `pyctr`; a name that is
neither a pyctr command, a builtin nor a function runs as a host program from
PATH. Pipes are OS pipes, so pyctr commands, builtins, loops and host programs
mix freely. Builtins: echo, exit, set -e/+e, source, read, export, shift,
return, break, continue, true, false, wait-for (waitfor.py), history (with no
argument; `history IMAGE` stays the image command), help and the `py` escape
(pyescape.py). Scripts and `-c` stop at the first failing command unless
`set +e`; at the prompt a failure never ends the REPL."""

from __future__ import annotations

import codecs
import io
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

from .cli import run_command
from .context import Context, describe
from .lexer import ASSIGNMENT, ScriptError, ShellExit, Word

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
    "source": ("source FILE [ARG...]\n\nRun FILE's commands in this shell (its variables and\n"
               "functions stay defined); with ARGs, $1... are those while it runs."),
    "wait-for": ("wait-for healthy CONTAINER [--timeout DURATION]\n"
                 "       wait-for log CONTAINER TEXT [--timeout DURATION]\n"
                 "       wait-for port CONTAINER PORT [--timeout DURATION]\n\n"
                 "Wait until the container is healthy, has logged TEXT, or accepts TCP\n"
                 "connections on PORT (at its own address). Status 1 with a message when\n"
                 "DURATION (default 60s; 30, 500ms, 2m) passes or the container stops first."),
    "read": "read NAME...\n\nRead a line of stdin into the NAMEs (split at whitespace); status 1 at its end.",
    "export": "export NAME[=VALUE]...\n\nPass NAME to the programs this shell starts, in their environment.",
    "shift": "shift [N]\n\nDrop the first N (1) arguments: $2 becomes $1.",
    "return": "return [STATUS]\n\nLeave the function being run, with STATUS (default $?).",
    "break": "break\n\nLeave the innermost for/while/until loop.",
    "continue": "continue\n\nGo on with the next round of the innermost loop.",
    "host": ("host PROGRAM [ARG...]\n\nRun the host's PROGRAM from PATH even where a pyctr command has\n"
             "that name (`host ps aux`, `host diff a b`); other programs run by their name alone."),
    "true": "true\n\nDo nothing, successfully (status 0).",
    "false": "false\n\nDo nothing, unsuccessfully (status 1).",
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
        if data:
            self._owner.last = bytes(data[-1:]).decode("latin-1")
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
        self.last = "\n"  # the last character written: "\n" when the cursor is at a line's start
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
        if text:
            self.last = text[-1]
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
        self.last = "\n"
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


@dataclass
class Streams:
    """Where a command reads and writes: text file objects with a `.buffer`
    and a `fileno()` (the terminal's, a file's or a pipe's end)."""

    stdin: Any
    stdout: Any
    stderr: Any


class ErrExit(Exception):
    """`set -e` stopped the script at a failing command."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _Return(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Shell:
    """Interpreter state and the tree walker: variables, functions, $?, errexit,
    the last result. See parser.py for the language."""

    def __init__(self, ctx: ShellContext, errexit: bool = False, argv0: str = PROG,
                 args: Sequence[str] = (), history: Callable[[], list[str]] | None = None,
                 on_command: Callable[[], None] | None = None):
        self.ctx = ctx
        self.errexit = errexit
        self.vars: dict[str, str] = {"0": argv0}
        self.args: list[str] = list(args)
        self.exported: set[str] = set()
        self.functions: dict[str, Any] = {}
        self.status = 0
        self.last: CommandResult | None = None
        self.history = history
        self.on_command = on_command  # e.g. mark the completion cache stale
        self.interactive = False
        self.source_name = ""  # the script file being run ("" for -c and the prompt)
        self.line = 0
        self.condition = 0  # >0 inside if/while conditions and && || lists: no errexit there
        self.streams = Streams(sys.stdin, ctx.stdout, ctx.stderr)  # the main thread's current ones
        self.paging = False  # the REPL's: long results of listing commands go through a pager
        from .pyescape import PyEscape

        self.py = PyEscape(self)

    @property
    def terminal(self) -> Streams:
        return Streams(sys.stdin, self.ctx.stdout, self.ctx.stderr)

    # --- output ---------------------------------------------------------------

    # The shell's own output bypasses the captures: `result` is the last pyctr
    # command's output, whatever builtins or py printed after it.

    def out(self, text: str, streams: Streams | None = None) -> None:
        target = (streams or self.streams).stdout
        target = target.target if isinstance(target, Capture) else target
        target.write(text)
        target.flush()

    def err(self, text: str, streams: Streams | None = None) -> None:
        target = (streams or self.streams).stderr
        target = target.target if isinstance(target, Capture) else target
        target.write(text)
        target.flush()

    def error(self, message: str, line: int | None = None, streams: Streams | None = None) -> None:
        """A message of the shell's own, with file:line inside a script."""
        line = self.line if line is None else line
        where = f"{self.source_name}:{line}: " if self.source_name else ""
        self.err(f"{PROG}: {where}{message}\n", streams)

    # --- variables ------------------------------------------------------------

    def lookup(self, name: str) -> str:
        """A variable's value; unset ones are empty, as in sh."""
        if name == "?":
            return str(self.status)
        if name == "#":
            return str(len(self.args))
        if name in ("@", "*"):
            return " ".join(self.args)
        if name.isdigit() and name != "0":
            index = int(name)
            return self.args[index - 1] if index <= len(self.args) else ""
        if name in self.vars:
            return self.vars[name]
        return self.ctx.environ.get(name, "")

    def expand(self, words: list[Word], streams: Streams) -> list[str]:
        argv: list[str] = []
        for word in words:
            argv += word.fields(self.lookup, lambda text: self.substitute(text, streams),
                                lambda: list(self.args))
        return argv

    def substitute(self, text: str, streams: Streams) -> str:
        """`$(text)`: run it with stdout into a file; its output without the
        trailing newlines. Its status becomes $?."""
        import tempfile

        from .parser import parse

        tree = parse(text)
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
            inner = Streams(streams.stdin, out, streams.stderr)
            saved = self.errexit
            self.errexit = False  # sh: a failing substitution does not stop the script by itself
            try:
                self.execute(tree, inner)
            finally:
                self.errexit = saved
            out.flush()
            out.seek(0)
            return out.read().rstrip("\n")

    def environment(self) -> dict[str, str]:
        env = dict(self.ctx.environ)
        env.update({name: self.vars[name] for name in self.exported if name in self.vars})
        return env

    # --- running --------------------------------------------------------------

    def run_source(self, text: str, where: str = "") -> tuple[int, bool]:
        """Run `text` (a script, a -c string, a line typed at the prompt).
        Returns (status, stopped): stopped is True when errexit ended it early
        (or it did not parse). `where` is "FILE: " for a script file."""
        from .parser import parse

        source = where[:-2] if where.endswith(": ") and where != "<stdin>: " else where.rstrip(": ")
        saved_source = self.source_name
        self.source_name = source
        try:
            try:
                tree = parse(text)
            except ScriptError as exc:
                self.err(f"{PROG}: {source + ': ' if source else ''}{exc.message}\n")
                self.status = 2
                return 2, True
            try:
                self.status = self.execute(tree, self.terminal)
            except ErrExit as exc:
                self.status = exc.status
                return exc.status, True
            except _Return as exc:
                self.status = exc.status
            except (_Break, _Continue):
                pass
            return self.status, False
        finally:
            self.source_name = saved_source

    def execute(self, node: Any, streams: Streams) -> int:
        from . import parser as p

        kind = type(node)
        if kind is p.Sequence:
            for item in node.items:
                status = self.execute(item, streams)
                self.status = status
                if status != 0 and self.errexit and not self.condition \
                        and not getattr(item, "exempt", False):
                    self.stopped(item, status, streams)
                    raise ErrExit(status)
            return self.status
        if kind is p.Simple:
            return self.simple(node, streams)
        if kind is p.Pipeline:
            return self.pipeline(node, streams)
        if kind is p.AndOr:
            return self.and_or(node, streams)
        if kind is p.FunctionDef:
            self.functions[node.name] = node.body
            return 0
        opened: list[Any] = []
        try:
            streams = self.redirect(node.redirects, streams, opened)
        except OSError as exc:
            self.error(f"{exc.filename}: {exc.strerror}", node.line, streams)
            return 1
        try:
            if kind is p.If:
                return self.if_clause(node, streams)
            if kind is p.For:
                return self.for_clause(node, streams)
            if kind is p.While:
                return self.while_clause(node, streams)
            if kind is p.Group:
                return self.execute(node.body, streams)
            if kind is p.Python:
                return self.python(node, streams)
        finally:
            for f in opened:
                f.close()
        raise TypeError(f"not a node: {node!r}")

    def stopped(self, item: Any, status: int, streams: Streams) -> None:
        if self.source_name and status != 130:
            self.error(f"stopped at a command that exited with status {status} "
                       f"(set +e goes on after failures)", item.line, streams)

    def condition_of(self, node: Any, streams: Streams) -> int:
        self.condition += 1
        try:
            return self.execute(node, streams)
        finally:
            self.condition -= 1

    def and_or(self, node: Any, streams: Streams) -> int:
        parts = [node.first] + [pipeline for _, pipeline in node.rest]
        ops = [op for op, _ in node.rest]
        status = self.condition_of(parts[0], streams)
        node.exempt = True
        for i, (op, part) in enumerate(zip(ops, parts[1:]), 1):
            if (op == "&&") != (status == 0):
                continue
            last = i == len(parts) - 1
            status = self.execute(part, streams) if last else self.condition_of(part, streams)
            node.exempt = not last
        self.status = status
        return status

    def if_clause(self, node: Any, streams: Streams) -> int:
        for condition, body in node.clauses:
            if self.condition_of(condition, streams) == 0:
                return self.execute(body, streams)
        if node.otherwise is not None:
            return self.execute(node.otherwise, streams)
        return 0

    def for_clause(self, node: Any, streams: Streams) -> int:
        values = list(self.args) if node.words is None else self.expand(node.words, streams)
        status = 0
        for value in values:
            self.vars[node.name] = value
            status, stop = self.loop_body(node.body, streams, status)
            if stop:
                break
        return status

    def while_clause(self, node: Any, streams: Streams) -> int:
        status = 0
        while (self.condition_of(node.condition, streams) == 0) != node.until:
            status, stop = self.loop_body(node.body, streams, status)
            if stop:
                break
        return status

    def loop_body(self, body: Any, streams: Streams, status: int) -> tuple[int, bool]:
        """One round of a for/while body: (the loop's status so far, whether `break`
        ended the loop); a round cut short by break/continue leaves the status as it was."""
        try:
            return self.execute(body, streams), False
        except _Break:
            return status, True
        except _Continue:
            return status, False

    def python(self, node: Any, streams: Streams) -> int:
        saved = self.streams
        self.streams = streams
        try:
            self.status = self.py.run(node.block.code, node.block.line)
        finally:
            self.streams = saved
        return self.status

    # --- redirections ---------------------------------------------------------

    def redirect(self, redirects: list[Any], streams: Streams, opened: list[Any]) -> Streams:
        """The streams after `> f`, `2>&1`...: applied left to right, as in sh."""
        if not redirects:
            return streams
        current = [streams.stdin, streams.stdout, streams.stderr]
        for r in redirects:
            if r.mode == ">&":
                current[r.fd] = current[r.dup]
                continue
            names = self.expand([r.target], streams)
            if len(names) != 1:
                raise OSError(0, "ambiguous redirect", r.target.literal)
            mode = {"<": "r", ">": "w", ">>": "a"}[r.mode]
            f = open(names[0], mode, encoding="utf-8", errors="replace")
            opened.append(f)
            if r.fd == -1:
                current[1] = current[2] = f
            else:
                current[r.fd] = f
        return Streams(*current)

    # --- simple commands ------------------------------------------------------

    def kind_of(self, name: str) -> str:
        """What a command name runs: a function, a builtin, a pyctr command, a
        program on PATH, or nothing (the pyctr CLI says so)."""
        from . import commands

        if name in self.functions:
            return "function"
        if self._builtin(name) is not None:
            return "builtin"
        if name == "help" or commands.MODULES.get(name) is not None:
            return "pyctr"
        if "/" in name or self.which(name):
            return "host"
        return "pyctr"  # the CLI's "'x' is not a pyctr command"

    def _builtin(self, name: str) -> Callable[[list[str], Streams], int] | None:
        name = "source" if name == "." else name
        if not name.replace("-", "_").isidentifier():
            return None
        return getattr(self, "builtin_" + name.replace("-", "_"), None)

    def which(self, name: str) -> str | None:
        import shutil

        return shutil.which(name, path=self.environment().get("PATH", os.defpath))

    def simple(self, node: Any, streams: Streams) -> int:
        self.line = node.line
        if node.words and all(w.parts and w.parts[0].kind == "text"
                              and ASSIGNMENT.match(w.parts[0].value) for w in node.words):
            # name=value...: no splitting of the value, as in sh
            for word in node.words:
                value = "".join(word.fields(self.lookup, lambda t: self.substitute(t, streams),
                                            lambda: list(self.args), split=False))
                name, _, val = value.partition("=")
                self.vars[name] = val
            return 0
        try:
            argv = self.expand(node.words, streams)
        except ScriptError as exc:
            self.error(exc.message, node.line, streams)
            self.status = 2
            return 2
        opened: list[Any] = []
        try:
            try:
                streams = self.redirect(node.redirects, streams, opened)
            except OSError as exc:
                self.error(f"{exc.filename}: {exc.strerror}", node.line, streams)
                self.status = 1
                return 1
            if not argv:
                return self.status
            self.status = self.dispatch(argv, streams)
            return self.status
        finally:
            for f in opened:
                f.close()

    def dispatch(self, argv: list[str], streams: Streams) -> int:
        kind = self.kind_of(argv[0])
        if kind == "function":
            return self.call_function(argv, streams)
        if kind == "builtin" and not (argv[0] == "history" and len(argv) > 1):
            return self._builtin(argv[0])(argv[1:], streams)
        if kind == "host":
            return self.wait_all([self.spawn(argv, streams)])
        if self.paging and streams.stdout is self.ctx.stdout:
            from .pager import pageable

            if pageable(argv):
                return self.run_paged(argv, streams)
        return self.run_pyctr(argv, streams).status

    def run_paged(self, argv: list[str], streams: Streams) -> int:
        from .pager import KeptOutput, show

        terminal = self.ctx.stdout.target
        kept = KeptOutput(terminal)
        result = self.run_pyctr(argv, Streams(streams.stdin, kept, streams.stderr))
        show(kept.text(), terminal, self.ctx.environ)
        return result.status

    def call_function(self, argv: list[str], streams: Streams) -> int:
        saved_args = self.args
        self.args = argv[1:]
        try:
            return self.execute(self.functions[argv[0]], streams)
        except _Return as exc:
            return exc.status
        finally:
            self.args = saved_args

    def spawn(self, argv: list[str], streams: Streams) -> Any:
        import subprocess

        for stream in (streams.stdout, streams.stderr):
            stream.flush()
        try:
            return subprocess.Popen(argv, stdin=_fd(streams.stdin), stdout=_fd(streams.stdout),
                                    stderr=_fd(streams.stderr), env=self.environment())
        except OSError as exc:
            self.error(f"{argv[0]}: {exc.strerror}", None, streams)
            return 126 if isinstance(exc, PermissionError) else 127

    @staticmethod
    def wait_all(procs: list[Any]) -> int:
        """Wait for host programs; the status of the last. Ctrl-C reached them
        too (the same foreground process group): give them a moment to go,
        then kill what is left, and let the interrupt end the line."""
        status = 0
        try:
            for proc in procs:
                status = proc if isinstance(proc, int) else _status(proc.wait())
        except KeyboardInterrupt:
            for proc in procs:
                if isinstance(proc, int):
                    continue
                try:
                    proc.wait(timeout=2)
                except BaseException:  # noqa: BLE001 - a second ^C or a stubborn child
                    proc.kill()
                    proc.wait()
            raise
        return status

    def pipeline(self, node: Any, streams: Streams) -> int:
        """Stages joined by OS pipes: host programs as processes, everything of
        ours (pyctr commands, builtins, functions, loops) in this process, the
        last of them on the main thread (where Ctrl-C arrives), others in threads."""
        import threading

        from . import parser as p

        commands = node.commands
        if len(commands) == 1:
            status = self.execute(commands[0], streams)
            return int(not status) if node.negate else status
        ends = [os.pipe() for _ in commands[1:]]
        readers = [os.fdopen(r, "r", encoding="utf-8", errors="replace") for r, _ in ends]
        writers = [os.fdopen(w, "w", encoding="utf-8", errors="replace") for _, w in ends]
        stages: list[tuple[Any, Streams, list[str] | None]] = []
        for i, command in enumerate(commands):
            stage_streams = Streams(readers[i - 1] if i else streams.stdin,
                                    writers[i] if i < len(writers) else streams.stdout,
                                    streams.stderr)
            argv = None
            if type(command) is p.Simple and not command.redirects:
                argv = self.expand(command.words, stage_streams)
                if not argv or self.kind_of(argv[0]) != "host":
                    argv = None
            stages.append((command, stage_streams, argv))
        ours = [i for i, (_, _, argv) in enumerate(stages) if argv is None]
        main = ours[-1] if ours else None
        statuses: dict[int, Any] = {}
        threads = []

        def close_own(i: int) -> None:
            s = stages[i][1]
            for f in (s.stdin, s.stdout):
                if f in readers or f in writers:
                    try:
                        f.close()
                    except OSError:
                        pass  # a reader gone first (`| head`): the writer's end is broken

        def run_stage(i: int) -> None:
            command, s, _ = stages[i]
            try:
                if type(command) is p.Simple:
                    statuses[i] = self.simple(command, s)
                else:
                    statuses[i] = self.condition_of(command, s)
            except (BrokenPipeError, ErrExit):
                statuses[i] = 141
            except (_Return, ShellExit) as exc:  # `exit` in a pipe leaves that stage, as in sh
                statuses[i] = exc.status
            except (_Break, _Continue):
                statuses[i] = 0
            finally:
                close_own(i)

        try:
            for i, (command, s, argv) in enumerate(stages):
                if argv is not None:
                    statuses[i] = self.spawn(argv, s)
                    close_own(i)
                elif i != main:
                    thread = threading.Thread(target=run_stage, args=(i,), daemon=True)
                    thread.start()
                    threads.append(thread)
            if main is not None:
                run_stage(main)
            for thread in threads:
                thread.join()
            procs = [statuses[i] for i, (_, _, argv) in enumerate(stages) if argv is not None]
            self.wait_all(procs)
        finally:
            for f in readers + writers:
                try:
                    f.close()
                except OSError:
                    pass
        last = statuses[len(stages) - 1]
        status = last if isinstance(last, int) else _status(last.returncode)
        self.status = int(not status) if node.negate else status
        return self.status

    def run_pyctr(self, argv: list[str], streams: Streams | None = None) -> CommandResult:
        """One pyctr command through the CLI's own grammar and handlers, with
        `streams` (the terminal's by default)."""
        import threading

        streams = streams or self.terminal
        on_main = threading.current_thread() is threading.main_thread()
        ctx = self.ctx if on_main else Context(host=self.ctx.host, debug=self.ctx.debug,
                                                environ=self.ctx.environ)
        saved = (ctx.stdin, ctx.stdout, ctx.stderr)
        ctx.stdin = streams.stdin
        ctx.stdout = streams.stdout if isinstance(streams.stdout, Capture) else Capture(streams.stdout)
        ctx.stderr = streams.stderr if isinstance(streams.stderr, Capture) else Capture(streams.stderr)
        if on_main:
            ctx.begin()
        interrupted = False
        try:
            status = run_command(ctx, argv)
            ctx.stdout.flush()
        except KeyboardInterrupt:
            status, interrupted = 130, True
        except BrokenPipeError:
            status = 141
        except Exception as exc:  # noqa: BLE001 - a bug in a command must not end the REPL
            self.err(f"{PROG}: {argv[0]}: {type(exc).__name__}: {describe(exc)}\n", streams)
            if ctx.debug:
                import traceback

                traceback.print_exc(file=sys.stderr)
            status = 1
        result = CommandResult(argv, status, ctx.stdout.getvalue(), ctx.stderr.getvalue(),
                               ctx.client.data if on_main else None,
                               list(ctx.client.calls) if on_main else [])
        ctx.stdin, ctx.stdout, ctx.stderr = saved
        if self.interactive and streams.stdout is self.ctx.stdout and (
                status == 130 or self.ctx.stdout.last not in "\n"):
            # ^C left the cursor on the interrupted line, or the output did not
            # end its line (a detach from `sh`'s prompt): the next prompt starts a fresh one.
            self.out("\n")
        if on_main:
            self.last = result
            self.status = status
            if self.on_command is not None:
                self.on_command()
        if interrupted or (status == 130 and on_main and _sigint_seen()):
            raise KeyboardInterrupt  # ^C ends the whole line, loops included, as in sh
        return result

    def sh(self, line: str) -> CommandResult:
        """Run a pyctr-shell line from Python; the result of its last pyctr command."""
        before = self.last
        status, _ = self.run_source(line)
        if self.last is not before and self.last is not None:
            return self.last
        return CommandResult([line], status)

    # --- builtins (each takes its arguments and its streams) -----------------

    def builtin_exit(self, args: list[str], streams: Streams) -> int:
        if len(args) > 1:
            self.error("exit: too many arguments", None, streams)
            return 2
        if args and not args[0].lstrip("-").isdigit():
            self.error(f"exit: {args[0]}: numeric argument required", None, streams)
            return 2
        raise ShellExit(int(args[0]) & 0xFF if args else self.status)

    builtin_quit = builtin_exit

    def builtin_return(self, args: list[str], streams: Streams) -> int:
        if args and not args[0].lstrip("-").isdigit():
            self.error(f"return: {args[0]}: numeric argument required", None, streams)
            return 2
        raise _Return(int(args[0]) & 0xFF if args else self.status)

    def builtin_break(self, args: list[str], streams: Streams) -> int:
        raise _Break()

    def builtin_continue(self, args: list[str], streams: Streams) -> int:
        raise _Continue()

    def builtin_true(self, args: list[str], streams: Streams) -> int:
        return 0

    def builtin_false(self, args: list[str], streams: Streams) -> int:
        return 1

    def builtin_set(self, args: list[str], streams: Streams) -> int:
        if not args:
            for name in sorted(self.vars):
                if not name.isdigit():
                    self.out(f"{name}={self.vars[name]}\n", streams)
            return 0
        for arg in args:
            if arg == "-e":
                self.errexit = True
            elif arg == "+e":
                self.errexit = False
            else:
                self.error(f"set: unknown option {arg} (pyctr-shell knows -e and +e)", None, streams)
                return 2
        return 0

    def builtin_export(self, args: list[str], streams: Streams) -> int:
        for arg in args:
            name, eq, value = arg.partition("=")
            if not name.isidentifier():
                self.error(f"export: '{arg}': not a valid name", None, streams)
                return 2
            if eq:
                self.vars[name] = value
            self.exported.add(name)
        return 0

    def builtin_shift(self, args: list[str], streams: Streams) -> int:
        count = int(args[0]) if args and args[0].isdigit() else 1
        if count > len(self.args):
            return 1
        self.args = self.args[count:]
        return 0

    def builtin_read(self, args: list[str], streams: Streams) -> int:
        """read NAME...: one line of stdin, split at whitespace (the last name takes the rest)."""
        if not args or not all(a.isidentifier() for a in args):
            self.error("read: usage: read NAME...", None, streams)
            return 2
        line = streams.stdin.readline()
        if not line:
            return 1
        fields = line.rstrip("\n").split(None, len(args) - 1)
        for i, name in enumerate(args):
            self.vars[name] = fields[i] if i < len(fields) else ""
        return 0

    def builtin_source(self, args: list[str], streams: Streams) -> int:
        if not args:
            self.error("source: usage: source FILE [ARG...]", None, streams)
            return 2
        try:
            text = read_script(args[0])
        except (OSError, UnicodeDecodeError) as exc:
            self.error(f"source: {args[0]}: {getattr(exc, 'strerror', None) or exc}", None, streams)
            return 1
        saved_args = self.args
        if len(args) > 1:
            self.args = args[1:]
        try:
            status, stopped = self.run_source(text, f"{args[0]}: ")
        finally:
            self.args = saved_args
        if stopped and self.errexit:
            raise ErrExit(status)
        return status

    def builtin_host(self, args: list[str], streams: Streams) -> int:
        """host PROGRAM [ARG...]: the host's program even where a pyctr command has its name."""
        if not args:
            self.error("host: usage: host PROGRAM [ARG...]", None, streams)
            return 2
        if "/" not in args[0] and not self.which(args[0]):
            self.error(f"host: {args[0]}: not found on PATH", None, streams)
            return 127
        return self.wait_all([self.spawn(args, streams)])

    def builtin_echo(self, args: list[str], streams: Streams) -> int:
        self.out(" ".join(args) + "\n", streams)
        return 0

    def builtin_history(self, args: list[str], streams: Streams) -> int:
        lines = self.history() if self.history is not None else []
        for number, line in enumerate(lines, 1):
            self.out(f"{number:5}  {line}\n", streams)
        return 0

    def builtin_help(self, args: list[str], streams: Streams) -> int:
        if args and args[0] in BUILTINS:
            self.out(f"\nUsage: {BUILTINS[args[0]]}\n", streams)
            return 0
        status = self.run_pyctr(["help", *args], streams).status
        if not args:
            self.out("\npyctr-shell builtins:\n", streams)
            for name, text in BUILTINS.items():
                self.out(f"    {name:<10}{text.splitlines()[0]}\n", streams)
        return status

    def builtin_wait_for(self, args: list[str], streams: Streams) -> int:
        from .waitfor import wait_for

        return wait_for(self, args, streams)

    def builtin_py(self, args: list[str], streams: Streams) -> int:  # reached only via lexing
        return self.py.run(" ".join(args), 1)


_SIGINT = {"seen": False}


def _sigint_seen() -> bool:
    seen, _SIGINT["seen"] = _SIGINT["seen"], False
    return seen


def install_sigint() -> None:
    """Remember that a ^C came (a pyctr command turns it into status 130), so
    the whole line stops rather than only the command it hit."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        _SIGINT["seen"] = True
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)


def _fd(stream: Any) -> Any:
    try:
        return stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return None


def _status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


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
    except KeyboardInterrupt:
        return 130  # ^C ends a script as it ends sh's: quietly, status 130
    return status

