"""The Dockerfile parser, as the classic builder of Docker 20.10 reads a Dockerfile:
parser directives (`# escape=`), continuation lines, comments, the instructions
with their `--flags`, and the split into build stages (meta ARGs, then one stage
per FROM). Words keep their quotes here: the evaluator expands them (lex.py) when
the step runs, with the variables of that moment. Every error names its line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


class DockerfileError(Exception):
    """A Dockerfile that cannot be parsed or a step that cannot run; the message names
    the line the way today's Docker does (`dockerfile parse error line N: ...`)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"dockerfile parse error line {line}: {message}" if line else message)
        self.line = line
        self.reason = message


INSTRUCTIONS = ("FROM", "MAINTAINER", "RUN", "CMD", "ENTRYPOINT", "ENV", "ADD", "COPY",
                "EXPOSE", "VOLUME", "USER", "WORKDIR", "ONBUILD", "ARG", "LABEL", "SHELL",
                "HEALTHCHECK", "STOPSIGNAL")
# What `commit --change` may set (Docker's list); the rest only makes sense in a build.
CONFIG_ONLY = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "USER", "VOLUME", "WORKDIR", "ONBUILD",
               "LABEL", "STOPSIGNAL", "HEALTHCHECK")
# The flags each instruction takes (the classic builder's; BuildKit's --mount etc. are not).
FLAGS = {"FROM": ("platform",), "COPY": ("from", "chown"), "ADD": ("chown",),
         "HEALTHCHECK": ("interval", "timeout", "start-period", "retries")}
# Shell-style word expansion applies to these (Docker's list); RUN/CMD/... leave it to the shell.
EXPANDED = ("ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
            "WORKDIR", "ARG")

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")


@dataclass
class Instruction:
    line: int
    command: str                 # upper case, e.g. "RUN"
    original: str                # the whole instruction as written (continuations joined)
    rest: str = ""               # what follows the keyword and the flags
    args: list[str] = field(default_factory=list)     # words (quotes kept) or exec-form items
    pairs: list[tuple[str, str | None]] = field(default_factory=list)  # ENV/LABEL/ARG
    flags: dict[str, str] = field(default_factory=dict)
    json_form: bool = False      # exec form (a JSON array)
    trigger: "Instruction | None" = None   # ONBUILD's instruction
    escape: str = "\\"

    def text(self) -> str:
        """The instruction as `Step N/M :` prints it."""
        return self.original


@dataclass
class Stage:
    base: str                    # the FROM image (still to be expanded with the meta ARGs)
    name: str                    # `AS name` (lower case) or ""
    index: int
    source: Instruction          # the FROM instruction
    commands: list[Instruction] = field(default_factory=list)

    @property
    def platform(self) -> str:
        return self.source.flags.get("platform", "")


@dataclass
class Dockerfile:
    meta_args: list[Instruction]  # ARGs before the first FROM
    stages: list[Stage]
    escape: str = "\\"

    def total_steps(self) -> int:
        return len(self.meta_args) + sum(1 + len(s.commands) for s in self.stages)

    def stage_index(self, name: str) -> int | None:
        """The stage `name` (a stage name or a number) refers to, or None."""
        name = name.lower()
        for stage in self.stages:
            if stage.name and stage.name == name:
                return stage.index
        if name.isdigit() and int(name) < len(self.stages):
            return int(name)
        return None


# --- lines -------------------------------------------------------------------------------

def _directives(lines: list[str]) -> tuple[str, int]:
    """The escape character the leading directives set, and how many lines they take."""
    escape, seen, count = "\\", set(), 0
    for raw in lines:
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        name, value = match.group(1).lower(), match.group(2)
        if name in seen:
            raise DockerfileError(count + 1, f"only one {name} parser directive can be used")
        seen.add(name)
        if name == "escape":
            if value not in ("`", "\\"):
                raise DockerfileError(count + 1, f"invalid ESCAPE '{value}'. Must be ` or \\")
            escape = value
        count += 1   # `# syntax=` is BuildKit's: read and ignored, as the classic builder does
    return escape, count


def logical_lines(text: str, escape: str = "\\", skip: int = 0) -> list[tuple[int, str]]:
    """(first line number, joined text) for every instruction. A line ending in the escape
    character continues on the next; comment lines inside are dropped, blank ones too;
    a continuation keeps its leading whitespace, as Docker's parser does."""
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if number <= skip:
            continue
        stripped = raw.strip()
        if pending is None:
            if not stripped or stripped.startswith("#"):
                continue
            start, line = number, raw.lstrip()
        else:
            if stripped.startswith("#") or not stripped:
                continue
            line = raw
        if continuation.search(line):
            pending = (pending or "") + continuation.sub("", line)
            continue
        out.append((start, ((pending or "") + line).strip()))
        pending = None
    if pending is not None and pending.strip():
        out.append((start, pending.strip()))
    return out


def parse(text: str) -> list[Instruction]:
    """Every instruction of a Dockerfile, in order."""
    if "\x00" in text:
        raise DockerfileError(0, "the Dockerfile is not a text file (it holds NUL bytes)")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    escape, skip = _directives(lines)
    instructions = [parse_line(number, line, escape=escape)
                    for number, line in logical_lines(text, escape, skip)]
    if not instructions:
        raise DockerfileError(0, "the Dockerfile is empty (no instructions)")
    return instructions


def stages(instructions: list[Instruction]) -> Dockerfile:
    """Meta ARGs, then one stage per FROM; the checks that need the whole file."""
    meta: list[Instruction] = []
    out: list[Stage] = []
    for inst in instructions:
        if inst.command == "FROM":
            base, name = inst.args[0], (inst.args[2].lower() if len(inst.args) == 3 else "")
            if name:
                if not _STAGE_NAME.match(name):
                    raise DockerfileError(inst.line, f"invalid name for build stage: {inst.args[2]!r}, "
                                          "name can't start with a number or contain symbols")
                if any(s.name == name for s in out):
                    raise DockerfileError(inst.line, f"duplicate name {name!r}: a stage of that "
                                          "name is defined earlier")
            out.append(Stage(base, name, len(out), inst))
        elif not out:
            if inst.command != "ARG":
                raise DockerfileError(inst.line, "Please provide a source image with `FROM` "
                                      f"prior to {inst.command.lower()}")
            meta.append(inst)
        else:
            out[-1].commands.append(inst)
    if not out:
        raise DockerfileError(instructions[-1].line, "no build stage in the Dockerfile: "
                              "give a FROM after the ARGs")
    return Dockerfile(meta, out, instructions[0].escape)


# --- one instruction -------------------------------------------------------------------

def parse_line(number: int, line: str, nested: bool = False, escape: str = "\\") -> Instruction:
    line = line.strip()
    match = re.match(r"(\S+)\s*(.*)\Z", line, re.DOTALL)
    word, rest = (match.group(1), match.group(2)) if match else ("", "")
    command = word.upper()
    if command not in INSTRUCTIONS:
        raise DockerfileError(number, f"unknown instruction: {command}")
    inst = Instruction(number, command, line, escape=escape)
    inst.flags, inst.rest = _flags(inst, rest)
    _parse_args(inst, nested)
    return inst


def _fail(inst: Instruction, message: str) -> DockerfileError:
    return DockerfileError(inst.line, message)


def _flags(inst: Instruction, rest: str) -> tuple[dict[str, str], str]:
    """Leading `--name=value` words; an unknown or repeated one is an error."""
    allowed = FLAGS.get(inst.command, ())
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        if word == "--":
            rest = after.lstrip()
            break
        name, eq, value = word[2:].partition("=")
        if name not in allowed:
            if name == "mount" or name == "network" or name == "security":
                raise _fail(inst, f"the --{name} option requires BuildKit: the classic builder "
                            "does not have it")
            raise _fail(inst, f"Unknown flag: {name}")
        if name in flags:
            raise _fail(inst, f"Duplicate flag specified: {name}")
        if not eq:
            raise _fail(inst, f"Missing a value on flag: --{name}")
        flags[name] = value
        rest = after.lstrip()
    return flags, rest


def json_array(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Docker's parseWords: split at whitespace outside quotes; quotes and escapes stay
    in the words (the expansion removes them later)."""
    words: list[str] = []
    word, quote, blank, i = "", "", True, 0
    while i < len(text):
        c = text[i]
        if blank:
            if c.isspace():
                i += 1
                continue
            blank = False
        if not quote and c.isspace():
            words.append(word)
            word, blank = "", True
            i += 1
            continue
        if c == escape and i + 1 < len(text) and quote != "'":
            word += c + text[i + 1]
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        word += c
        i += 1
    if word:
        words.append(word)
    return words


def _exactly_one(inst: Instruction) -> None:
    if len(inst.rest.split()) != 1:
        raise _fail(inst, f"{inst.command} requires exactly one argument")


def _parse_args(inst: Instruction, nested: bool) -> None:
    cmd, rest = inst.command, inst.rest
    if cmd == "ONBUILD":
        if nested:
            raise _fail(inst, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if not rest:
            raise _fail(inst, "ONBUILD requires at least one argument")
        inst.trigger = parse_line(inst.line, rest, nested=True, escape=inst.escape)
        if inst.trigger.command in ("FROM", "MAINTAINER", "ONBUILD"):
            raise _fail(inst, f"{inst.trigger.command} isn't allowed as an ONBUILD trigger")
        inst.args = [rest]
        return
    if cmd == "HEALTHCHECK":
        _parse_healthcheck(inst)
        return
    if not rest and cmd not in ("CMD", "ENTRYPOINT", "ADD", "COPY"):
        raise _fail(inst, f"{cmd} requires at least one argument")
    if cmd in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
        array = json_array(rest)
        inst.json_form = array is not None
        inst.args = array if array is not None else ([rest] if rest else [])
        if cmd == "SHELL" and not inst.json_form:
            raise _fail(inst, "SHELL requires the arguments to be in JSON form")
        if cmd == "SHELL" and not inst.args:
            raise _fail(inst, "SHELL requires at least one argument")
        if cmd == "RUN" and not inst.args:
            raise _fail(inst, "RUN requires at least one argument")
        return
    if cmd in ("VOLUME", "ADD", "COPY"):
        array = json_array(rest)
        inst.json_form = array is not None
        inst.args = array if array is not None else rest.split()
        if cmd == "VOLUME" and (not inst.args or any(not a.strip() for a in inst.args)):
            raise _fail(inst, "VOLUME specified can not be an empty string")
        if cmd in ("ADD", "COPY") and len(inst.args) < 2:
            raise _fail(inst, f"{cmd} requires at least two arguments, but only one was provided. "
                        "Destination could not be determined.")
        return
    if cmd in ("ENV", "LABEL"):
        inst.pairs = name_values(inst, rest)
        return
    if cmd == "ARG":
        words = split_words(rest, inst.escape)
        if len(words) != 1:
            raise _fail(inst, "ARG requires exactly one argument")
        name, eq, value = words[0].partition("=")
        if not name:
            raise _fail(inst, "ARG names can not be blank")
        inst.pairs = [(name, value if eq else None)]
        inst.args = words
        return
    words = rest.split()
    if cmd == "FROM":
        if not (len(words) == 1 or (len(words) == 3 and words[1].lower() == "as")):
            raise _fail(inst, "FROM requires either one or three arguments")
    elif cmd == "EXPOSE":
        for port in words:
            if "$" not in port and parse_ports(port) is None:
                raise _fail(inst, f"Invalid containerPort: {port}")
    elif cmd in ("USER", "STOPSIGNAL", "WORKDIR"):
        if cmd != "WORKDIR":
            _exactly_one(inst)
    inst.args = [rest] if cmd in ("MAINTAINER", "WORKDIR") else words


def name_values(inst: Instruction, rest: str) -> list[tuple[str, str | None]]:
    """`ENV key value` (the old form: the value is the rest of the line), or
    `ENV key=value key2="value 2" ...`; the same for LABEL."""
    words = split_words(rest, inst.escape)
    if not words:
        raise _fail(inst, f"{inst.command} requires at least one argument")
    if "=" not in words[0]:
        parts = re.split(r"[ \t]+", rest.strip(), maxsplit=1)
        if len(parts) < 2:
            raise _fail(inst, f"{inst.command} must have two arguments")
        return [(parts[0], parts[1])]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        if not eq:
            raise _fail(inst, f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
        if not name:
            raise _fail(inst, f"{inst.command} names can not be blank")
        pairs.append((name, value))
    return pairs


_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNITS_NS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
             "h": 3600 * 10**9}


def parse_duration(text: str) -> int | None:
    """Go's time.ParseDuration in nanoseconds, or None when `text` is not a duration."""
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS_NS[match.group(2)]
        pos = match.end()
    return int(total) if pos == len(text) and pos else None


MIN_HEALTH_DURATION = 10**6   # 1ms, Docker's container.MinimumDuration


def _parse_healthcheck(inst: Instruction) -> None:
    words = inst.rest.split(None, 1)
    if not words:
        raise _fail(inst, "HEALTHCHECK requires an argument")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) > 1:
            raise _fail(inst, "HEALTHCHECK NONE takes no arguments")
        if inst.flags:
            raise _fail(inst, "HEALTHCHECK NONE takes no flags")
        inst.args = ["NONE"]
        return
    if kind != "CMD":
        raise _fail(inst, f'Unknown type "{words[0]}" in HEALTHCHECK (try CMD)')
    command = words[1].strip() if len(words) > 1 else ""
    if not command:
        raise _fail(inst, "Missing command after HEALTHCHECK CMD")
    array = json_array(command)
    inst.json_form = array is not None
    inst.args = ["CMD"] + array if array is not None else ["CMD-SHELL", command]
    for name in ("interval", "timeout", "start-period"):
        value = inst.flags.get(name)
        if value is None:
            continue
        ns = parse_duration(value)
        if ns is None:
            raise _fail(inst, f'--{name}: time: invalid duration "{value}"')   # Go's words
        if ns != 0 and ns < MIN_HEALTH_DURATION:
            raise _fail(inst, f"Interval {name} cannot be less than 1ms")
    if "retries" in inst.flags:
        try:
            retries = int(inst.flags["retries"])
        except ValueError:
            raise _fail(inst, f"invalid value for --retries: {inst.flags['retries']!r}") from None
        if retries < 0:
            raise _fail(inst, f"--retries cannot be negative ({retries})")


def parse_ports(spec: str) -> list[str] | None:
    """`80`, `80/tcp`, `53/udp`, `8000-8002/sctp` -> Docker's keys ("80/tcp", ...); None if bad."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", spec.strip().lower())
    if not match:
        return None
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 0 < low <= high < 65536:
        return None
    proto = match.group(3) or "tcp"
    return [f"{port}/{proto}" for port in range(low, high + 1)]


def valid_port(spec: str) -> bool:
    return parse_ports(spec) is not None
