"""The Dockerfile parser: text -> instructions, each with the line it started on.

Docker 1.2's rules: `#` at the start of a line is a comment, a trailing `\\`
continues the line, instruction words are case-insensitive, RUN/CMD/ENTRYPOINT
take a JSON array ("exec form") or a string run by `/bin/sh -c` ("shell form",
also used when the JSON does not parse, as 1.2 did). Everything is checked here,
before any step runs, so a syntax error costs nothing and names its line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


class DockerfileError(Exception):
    """A Dockerfile that cannot be parsed; the message names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"Dockerfile line {line}: {message}" if line else message)
        self.line = line
        self.reason = message


# Instruction -> (minimum, maximum) argument count for the word-split ones; None: free text.
INSTRUCTIONS = ("FROM", "MAINTAINER", "RUN", "CMD", "ENTRYPOINT", "ENV", "ADD", "COPY",
                "EXPOSE", "VOLUME", "USER", "WORKDIR", "ONBUILD")
EXEC_FORM = ("RUN", "CMD", "ENTRYPOINT")
# What `commit --change` may set (Docker's list), the rest only makes sense in a build.
CONFIG_ONLY = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "USER", "VOLUME", "WORKDIR", "ONBUILD")

_CONTINUATION = re.compile(r"\\\s*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Instruction:
    line: int
    command: str            # upper case, e.g. "RUN"
    original: str           # the arguments as written (continuations joined)
    args: list[str] = field(default_factory=list)
    json_form: bool = False  # exec form (a JSON array) for RUN/CMD/ENTRYPOINT/VOLUME
    trigger: "Instruction | None" = None  # ONBUILD's instruction

    def text(self) -> str:
        """The instruction as `Step N :` prints it."""
        return f"{self.command} {self.original}".rstrip()


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) for every non-empty, non-comment line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is dropped
        if not pending:
            start = number
        if _CONTINUATION.search(raw):
            pending.append(_CONTINUATION.sub("", raw).strip())
            continue
        pending.append(stripped)
        out.append((start, " ".join(p for p in pending if p)))
        pending = []
    if pending:
        out.append((start, " ".join(p for p in pending if p)))
    return out


def parse(text: str) -> list[Instruction]:
    if "\x00" in text:
        raise DockerfileError(0, "the Dockerfile is not a text file (it holds NUL bytes)")
    instructions = [parse_line(number, line) for number, line in logical_lines(text)]
    if not instructions:
        raise DockerfileError(0, "the Dockerfile is empty (no instructions)")
    if instructions[0].command != "FROM":
        raise DockerfileError(instructions[0].line,
                              "Please provide a source image with `FROM` prior to "
                              f"{instructions[0].command}")
    return instructions


def parse_line(number: int, line: str, nested: bool = False) -> Instruction:
    word, _, rest = line.partition(" ")
    if "\t" in word:
        word, _, more = word.partition("\t")
        rest = more + " " + rest
    command = word.upper()
    rest = rest.strip()
    if command not in INSTRUCTIONS:
        raise DockerfileError(number, f"Unknown instruction: {word}")
    inst = Instruction(number, command, rest)
    _parse_args(inst, nested)
    return inst


def _fail(inst: Instruction, message: str) -> DockerfileError:
    return DockerfileError(inst.line, message)


def _json_array(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _parse_args(inst: Instruction, nested: bool) -> None:
    cmd, rest = inst.command, inst.original
    if cmd == "ONBUILD":
        if nested:
            raise _fail(inst, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if not rest:
            raise _fail(inst, "ONBUILD requires an instruction to run later")
        inst.trigger = parse_line(inst.line, rest, nested=True)
        if inst.trigger.command in ("FROM", "MAINTAINER"):
            raise _fail(inst, f"{inst.trigger.command} isn't allowed as an ONBUILD trigger")
        inst.args = [rest]
        return
    if not rest and cmd not in ("CMD", "ENTRYPOINT"):
        raise _fail(inst, f"{cmd} requires at least one argument")
    if cmd in EXEC_FORM:
        array = _json_array(rest)
        inst.json_form = array is not None
        inst.args = array if array is not None else ([rest] if rest else [])
        if cmd == "RUN" and not inst.args:
            raise _fail(inst, "RUN requires at least one argument")
        return
    if cmd == "VOLUME":
        array = _json_array(rest)
        inst.json_form = array is not None
        inst.args = array if array is not None else rest.split()
        if not inst.args or any(not a.strip() for a in inst.args):
            raise _fail(inst, "VOLUME requires at least one non-empty path")
        return
    if cmd == "ENV":
        inst.args = parse_env(rest, lambda m: _fail(inst, m))
        return
    words = rest.split()
    if cmd == "FROM":
        if len(words) != 1:
            raise _fail(inst, "FROM requires exactly one argument (an image name)")
    elif cmd in ("ADD", "COPY"):
        if len(words) < 2:
            raise _fail(inst, f"{cmd} requires at least two arguments (sources and a destination)")
    elif cmd == "EXPOSE":
        for port in words:
            if "$" not in port and not valid_port(port):
                raise _fail(inst, f"Invalid port for EXPOSE: {port}")
    elif cmd == "USER" and len(words) != 1:
        raise _fail(inst, "USER requires exactly one argument")
    inst.args = [rest] if cmd in ("MAINTAINER", "WORKDIR") else words


def valid_port(spec: str) -> bool:
    """`80`, `80/tcp`, `53/udp` (1 to 65535)."""
    match = re.fullmatch(r"(\d+)(/(tcp|udp))?", spec)
    return bool(match) and 0 < int(match.group(1)) < 65536


def parse_env(rest: str, fail) -> list[str]:
    """`ENV key value` (1.2's form: the value is the rest of the line), or the later
    `ENV key=value key2="value 2"` form. Returns ["key=value", ...]."""
    first = re.split(r"\s+", rest, maxsplit=1)
    if "=" not in first[0]:
        if len(first) < 2:
            raise fail("ENV requires two arguments (a name and a value)")
        name, value = first
        if not _ENV_NAME.match(name):
            raise fail(f"Invalid ENV name: {name}")
        return [f"{name}={value}"]
    import shlex
    try:
        words = shlex.split(rest, posix=True)
    except ValueError as exc:
        raise fail(f"ENV: {exc}") from None
    out = []
    for word in words:
        name, eq, value = word.partition("=")
        if not eq or not _ENV_NAME.match(name):
            raise fail(f"ENV names must be followed by = and a value: {word}")
        out.append(f"{name}={value}")
    return out


_VAR = re.compile(r"\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def substitute(text: str, env: list[str]) -> str:
    """`$VAR` and `${VAR}` from the build's ENV so far (unset: empty); `\\$` stays `$`."""
    values = dict(e.split("=", 1) for e in env if "=" in e)

    def one(match: re.Match) -> str:
        if match.group(0) == "\\$":
            return "$"
        return values.get(match.group(1) or match.group(2), "")
    return _VAR.sub(one, text)
