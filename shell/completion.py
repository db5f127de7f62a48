"""Tab completion for pyctr-shell, from the CLI's own command table and the live daemon.

Which word is being completed is worked out with the CLI's flag definitions
(`Command.flags`: a flag that takes a value eats the next word), so the
completer knows `run -v /a:/b --name x busy<TAB>` wants an image. Names,
ids, tags and ports come from DaemonState (cached, refreshed from events)."""

from __future__ import annotations

import shlex
import signal
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from . import commands
from .daemonstate import DaemonState, Snapshot
from pyctr.engine.client.frontend.flags import Command, Flag
from .lexer import Command as Statement
from .lexer import PyBlock, Word, lex
from .script import BUILTINS

SIGNALS = sorted({s.name[3:] for s in signal.Signals if not s.name.startswith("SIG_")})

# What the positional arguments of each command are: a kind per position
# (the last one repeats). Kinds: container, running, stopped, image, both, port, command.
POSITIONALS: dict[str, list[str]] = {
    "attach": ["running"], "commit": ["container", ""], "cp": ["container", ""],
    "diff": ["container"], "export": ["container"], "kill": ["running"],
    "logs": ["container"], "pause": ["running"], "port": ["container", "port", ""],
    "restart": ["container"], "rm": ["container"], "start": ["stopped"],
    "stop": ["running"], "top": ["running", ""], "unpause": ["container"],
    "wait": ["container"], "inspect": ["both"],
    "history": ["image"], "rmi": ["image"], "push": ["image", ""], "save": ["image"],
    "tag": ["image", ""], "run": ["image", ""], "create": ["image", ""],
    "help": ["command", ""],
}

# Values of flags that name something we know (by the flag's dest).
FLAG_VALUES: dict[str, str] = {
    "signal": "signal", "volumes_from": "container", "link": "running",
    "before": "container", "attach": "stream", "restart": "restart",
    "net": "net",
}
FIXED = {
    "stream": ["stdin", "stdout", "stderr"],
    "restart": ["no", "on-failure", "always"],
    "net": ["bridge", "none", "host", "container:"],
}


@dataclass
class Position:
    """What the word under the cursor is."""

    kind: str  # command, flag, value, positional, variable, none
    command: Command | None = None
    flag: Flag | None = None
    index: int = 0  # positional index
    args: tuple[str, ...] = ()  # positionals before the cursor


def command_names() -> list[str]:
    return sorted(set(commands.MODULES) | set(BUILTINS) | {"help"})


def analyse(words: list[str], current: str) -> Position:
    """Classify `current` given the complete words before it in its statement."""
    if not words:
        return Position("command")
    name = words[0]
    cmd = commands.load(name) if name != "help" else None
    if name == "help":
        return Position("positional", None, None, len(words) - 1, tuple(words[1:]))
    if name == "set":
        return Position("fixed:set")
    if name == "wait-for":
        return Position("wait-for", None, None, len(words) - 1, tuple(words[1:]))
    if cmd is None:
        return Position("none")
    by_name = {n: f for f in cmd.flags for n in f.names}
    expect: Flag | None = None
    positional: list[str] = []
    flags_done = False  # flags stop at the first positional (or `--`), as in the CLI
    for word in words[1:]:
        if expect is not None:
            expect = None
            continue
        if flags_done or not word.startswith("-") or word == "-":
            positional.append(word)
            flags_done = True
            continue
        if word == "--":
            flags_done = True
            continue
        if word.startswith("--"):
            flag_name, eq, _ = word.partition("=")
            flag = by_name.get(flag_name)
            if flag is not None and flag.kind is not bool and not eq:
                expect = flag
            continue
        letters = word[1:]
        for i, letter in enumerate(letters):
            flag = by_name.get("-" + letter)
            if flag is None:
                break
            if flag.kind is not bool:
                if i == len(letters) - 1:
                    expect = flag
                break
    if expect is not None:
        return Position("value", cmd, expect)
    if not flags_done and current.startswith("-"):
        if current.startswith("--") and "=" in current:
            flag = by_name.get(current.partition("=")[0])
            if flag is not None:
                return Position("value=", cmd, flag)
        return Position("flag", cmd)
    return Position("positional", cmd, None, len(positional), tuple(positional))


def quote(text: str) -> str:
    return text if not text or shlex.quote(text) == text else shlex.quote(text)


def fuzzy_score(prefix: str, value: str) -> tuple[int, int] | None:
    """How well `value` matches what was typed: (1, where) when it contains it,
    (2, spread) when it has its letters in order; None otherwise."""
    at = value.find(prefix)
    if at >= 0:
        return 1, at
    start = pos = -1
    for letter in prefix:
        pos = value.find(letter, pos + 1)
        if pos < 0:
            return None
        if start < 0:
            start = pos
    return 2, pos - start


def rank(candidates: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    """The candidates starting with `prefix` (or whose description starts with
    it: a container's id), in their order. If none does, the fuzzy ones: those
    containing it, then those with its letters in order, best first."""
    seen: set[str] = set()
    exact = []
    for value, meta in candidates:
        if value not in seen and (value.startswith(prefix) or (prefix and meta.startswith(prefix))):
            seen.add(value)
            exact.append((value, meta))
    if exact or not prefix:
        return exact
    scored = []
    for order, (value, meta) in enumerate(candidates):
        score = fuzzy_score(prefix, value)
        if score is not None and value not in seen:
            seen.add(value)
            scored.append((score, order, value, meta))
    return [(value, meta) for _, _, value, meta in sorted(scored)]


class PyctrCompleter(Completer):
    def __init__(self, state: DaemonState, variables: Callable[[], Iterable[str]]):
        self.state = state
        self.variables = variables

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        script = lex(text, partial=True)
        stmt = script.statements[-1] if script.statements else None
        if isinstance(stmt, PyBlock):
            return  # Python: nothing of ours to offer
        words: list[Word] = []
        if isinstance(stmt, Statement) and not self._after_statement(script, stmt, len(text)):
            words = stmt.words
        current: Word | None = None
        if words and words[-1].end == len(text):
            current = words[-1]
            words = words[:-1]
        prefix = current.literal if current is not None else ""
        replace = len(text) - current.start if current is not None else 0
        if current is not None and current.parts and current.parts[-1].kind == "var" \
                and current.parts[-1].end == len(text):
            var = current.parts[-1]
            for name in sorted(set(self.variables())):
                if name.startswith(var.value):
                    yield Completion("$" + name, start_position=-(var.end - var.start),
                                     display_meta="variable")
            return
        position = analyse([w.literal for w in words], prefix)
        for value, meta in rank(list(self.candidates(position, prefix)), prefix):
            yield Completion(quote(value), start_position=-replace, display_meta=meta)

    @staticmethod
    def _after_statement(script, stmt: Statement, cursor: int) -> bool:
        # `ps; <TAB>`: the last statement ended at the ';' before the cursor.
        return any(stmt.end <= sep < cursor for sep in script.separators)

    def candidates(self, position: Position, prefix: str) -> Iterator[tuple[str, str]]:
        kind = position.kind
        if kind == "command":
            for name in command_names():
                cmd = commands.load(name)
                yield name, (cmd.summary if cmd is not None else "pyctr-shell builtin")
        elif kind == "fixed:set":
            yield from (("-e", "stop at the first failure"), ("+e", "go on after failures"))
        elif kind == "wait-for":
            if prefix.startswith("-"):
                yield "--timeout", "give up after this long (default 60s)"
            elif position.index == 0:
                yield from (("healthy", "its healthcheck says healthy"),
                            ("log", "a text appears in its output"),
                            ("port", "it accepts TCP connections on a port"))
            elif position.index == 1 and position.args and position.args[-1] != "--timeout":
                yield from self.containers(self.state.fresh(), "running")
        elif kind == "flag" and position.command is not None:
            for flag in position.command.flags:
                for name in flag.names:
                    yield name, flag.help.split("\n")[0]
        elif kind in ("value", "value=") and position.flag is not None:
            what = FLAG_VALUES.get(position.flag.dest)
            if position.flag.dest == "since" and position.command and position.command.name == "ps":
                what = "container"
            if what is None:
                return
            values = self.values(what, position)
            if kind == "value=":
                head = prefix.partition("=")[0] + "="
                values = ((head + v, m) for v, m in values)
            yield from values
        elif kind == "positional":
            if position.command is None:  # help
                if position.index == 0:
                    yield from ((n, "") for n in command_names())
                return
            kinds = POSITIONALS.get(position.command.name)
            if not kinds:
                return
            what = kinds[min(position.index, len(kinds) - 1)]
            if what:
                yield from self.values(what, position)

    def values(self, what: str, position: Position) -> Iterator[tuple[str, str]]:
        if what == "signal":
            yield from ((name, "signal") for name in SIGNALS)
            return
        if what in FIXED:
            yield from ((v, "") for v in FIXED[what])
            if what == "net":
                yield from (("container:" + v, m) for v, m in self.containers(self.state.fresh(), "running"))
            return
        if what == "command":
            yield from ((n, "") for n in command_names())
            return
        snap = self.state.fresh()
        if what in ("container", "running", "stopped"):
            yield from self.containers(snap, what)
        elif what == "image":
            yield from self.images(snap)
        elif what == "both":
            # `inspect web` means the container web when there is one, so an
            # image of that name is not offered as well (it would be the wrong one).
            containers = list(self.containers(snap, "container"))
            yield from containers
            taken = {value for value, _ in containers}
            yield from ((v, m) for v, m in self.images(snap) if v not in taken)
        elif what == "port" and position.args:
            yield from self.ports(snap, position.args[0])

    @staticmethod
    def containers(snap: Snapshot, which: str) -> Iterator[tuple[str, str]]:
        """One entry per container: its name, described by its short id (which
        rank() also matches, so typing an id offers the name)."""
        for c in snap.containers:
            running = c.status.startswith("Up")
            if (which == "running" and not running) or (which == "stopped" and running):
                continue
            names = [n.lstrip("/") for n in c.names if n.count("/") == 1]  # not link aliases (/web/db)
            yield (names[0] if names else c.id[:12]), f"{c.id[:12]}  {c.image}  {c.status}"

    @staticmethod
    def images(snap: Snapshot) -> Iterator[tuple[str, str]]:
        seen: set[str] = set()
        for image in snap.images:
            for tag in image.repo_tags:
                if tag == "<none>:<none>":
                    continue
                repo = tag.rpartition(":")[0]
                for value in (tag, repo):
                    if value not in seen:
                        seen.add(value)
                        yield value, "image " + image.id[:12]
            yield image.id[:12], "image"

    @staticmethod
    def ports(snap: Snapshot, container: str) -> Iterator[tuple[str, str]]:
        for c in snap.containers:
            if container in [n.lstrip("/") for n in c.names] or c.id.startswith(container):
                for port in c.ports:
                    meta = f"-> {port.ip or '0.0.0.0'}:{port.public_port}" if port.public_port else ""
                    yield f"{port.private_port}/{port.type}", meta
                return
