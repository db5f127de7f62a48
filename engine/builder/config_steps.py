"""The Dockerfile instructions that change only an image's config (CMD, ENV, LABEL,
HEALTHCHECK, ...), applied to a build stage's state; `commit --change` applies the
same ones to a container's config. Apart from the evaluator, so that the daemon's
commit can use them without importing the builder's machinery.

Each returns the text Docker 20.10's classic builder commits for the step (what
`docker history` shows after `#(nop)`), so that images compare with Docker's."""

from __future__ import annotations

import json
import posixpath
import signal
from dataclasses import dataclass, field

from ..api.config import ContainerConfig, HealthConfig
from .lex import ExpansionError, process_word
from .parser import CONFIG_ONLY, DockerfileError, Instruction, parse_line, parse_ports

DEFAULT_SHELL = ["/bin/sh", "-c"]


@dataclass
class BuildState:
    """One stage's state while it is built."""
    image: str = ""                                  # the current image id ("" on scratch)
    config: ContainerConfig = field(default_factory=ContainerConfig)
    maintainer: str = ""
    cmd_set: bool = False                            # CMD seen (ENTRYPOINT keeps it then)
    args: dict[str, str | None] = field(default_factory=dict)   # ARGs declared in the stage
    name: str = ""                                   # the stage's `AS` name
    index: int = 0

    def shell(self) -> list[str]:
        return list(self.config.shell or DEFAULT_SHELL)


@dataclass
class Committed:
    """What a config step commits: the history text, and whether Docker writes it as one
    `#(nop) TEXT` argument (WORKDIR, ADD, COPY) or as `#(nop) `, `TEXT` (the others)."""
    text: str
    single_arg: bool = False


def go_list(items: list[str] | None) -> str:
    """How Go's %v prints a []string."""
    return "[" + " ".join(items or []) + "]"


def go_quoted_list(items: list[str] | None) -> str:
    """How Go's %q prints a []string: `["a" "b c"]`."""
    return "[" + " ".join(json.dumps(i, ensure_ascii=False) for i in items or []) + "]"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 5m0s, 1.5s, 300ms, 0s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns / size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _trim(rest / 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


_RUNE_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def go_quoted_int(value: int) -> str:
    """Go's %q of an int (a rune): 'A', '\\x03'."""
    if value in _RUNE_ESCAPES:
        return f"'{_RUNE_ESCAPES[value]}'"
    if 32 <= value < 127:
        return "'\\''" if value == 39 else f"'{chr(value)}'"
    return f"'\\x{value:02x}'" if value < 256 else f"'\\u{value:04x}'"


def health_text(health: HealthConfig) -> str:
    """Go's %q of a *HealthConfig, which is what Docker's history shows for HEALTHCHECK."""
    return (f"&{{{go_quoted_list(health.test)} {json.dumps(go_duration(health.interval or 0))} "
            f"{json.dumps(go_duration(health.timeout or 0))} "
            f"{json.dumps(go_duration(health.start_period or 0))} {go_quoted_int(health.retries or 0)}}}")


def expand(inst: Instruction, word: str, env: list[str]) -> str:
    try:
        return process_word(word, env, inst.escape)
    except ExpansionError as exc:
        raise DockerfileError(inst.line, str(exc)) from None


def valid_signal(name: str) -> bool:
    if name.isdigit():
        return 0 < int(name) < 65
    upper = name.upper()
    upper = upper if upper.startswith("SIG") else "SIG" + upper
    if upper.startswith("SIGRTMIN+") or upper.startswith("SIGRTMAX-"):
        return upper[9:].isdigit()
    return upper in signal.Signals.__members__ or upper in ("SIGRTMIN", "SIGRTMAX")


# --- config instructions (shared with `commit --change`) ------------------------------------

def _command(state: BuildState, inst: Instruction) -> list[str] | None:
    if inst.json_form:
        return list(inst.args)
    return state.shell() + inst.args if inst.args else None


def _set_env(config: ContainerConfig, name: str, value: str) -> None:
    env = [e for e in config.env or [] if e.split("=", 1)[0] != name]
    config.env = env + [f"{name}={value}"]


def apply_config(state: BuildState, inst: Instruction, env: list[str] | None = None,
                 note=None) -> Committed:
    """Apply a config-only instruction to `state.config`; what it commits. `env`: the
    variables words expand with (ENV, then the stage's ARGs); `note(text)` gets
    Docker's notes (an overridden HEALTHCHECK)."""
    config = state.config
    cmd = inst.command
    env = list(config.env or []) if env is None else env
    if cmd == "CMD":
        config.cmd = _command(state, inst)
        state.cmd_set = True
        return Committed(f"CMD {go_quoted_list(config.cmd)}")
    if cmd == "ENTRYPOINT":
        config.entrypoint = _command(state, inst)
        if not state.cmd_set:
            config.cmd = None  # an ENTRYPOINT resets a CMD inherited from the parent
        return Committed(f"ENTRYPOINT {go_quoted_list(config.entrypoint)}")
    if cmd in ("ENV", "LABEL"):
        parts = []
        for raw_name, raw_value in inst.pairs:
            name = expand(inst, raw_name, env)
            value = expand(inst, raw_value or "", env)
            if not name:
                raise DockerfileError(inst.line, f"{cmd} names can not be blank")
            parts.append(f"{name}={value}")
            if cmd == "ENV":
                _set_env(config, name, value)   # the line's later pairs still see the old env
            else:
                config.labels = {**(config.labels or {}), name: value}
        return Committed(f"{cmd} " + " ".join(parts))
    if cmd == "EXPOSE":
        given = sorted(expand(inst, word, env) for word in inst.args)   # Docker sorts them
        keys: list[str] = []
        for port in given:
            parsed = parse_ports(port)
            if parsed is None:
                raise DockerfileError(inst.line, f"Invalid containerPort: {port}")
            keys += parsed
        config.exposed_ports = {**(config.exposed_ports or {}), **{k: {} for k in keys}}
        return Committed("EXPOSE " + " ".join(given))
    if cmd == "VOLUME":
        paths = [expand(inst, p, env) for p in inst.args]
        for path in paths:
            if not path.strip():
                raise DockerfileError(inst.line, "VOLUME specified can not be an empty string")
            if not path.startswith("/"):
                raise DockerfileError(inst.line, f"VOLUME {path}: the path must be absolute")
        config.volumes = {**(config.volumes or {}), **{p: {} for p in paths}}
        return Committed("VOLUME " + go_list(paths))
    if cmd == "USER":
        config.user = expand(inst, inst.args[0], env)
        return Committed(f"USER {config.user}")
    if cmd == "WORKDIR":
        path = expand(inst, inst.args[0], env)
        config.working_dir = posixpath.normpath(posixpath.join("/", config.working_dir or "/", path))
        return Committed(f"WORKDIR {config.working_dir}", single_arg=True)
    if cmd == "STOPSIGNAL":
        name = expand(inst, inst.args[0], env)
        if not valid_signal(name):
            raise DockerfileError(inst.line, f"Invalid signal: {name}")
        config.stop_signal = name
        return Committed(f"STOPSIGNAL {name}")
    if cmd == "SHELL":
        config.shell = list(inst.args)
        return Committed(f"SHELL {go_list(config.shell)}")
    if cmd == "HEALTHCHECK":
        old = config.healthcheck
        if note is not None and old is not None and old.test and old.test[0] != "NONE":
            note(f"Note: overriding previous HEALTHCHECK: {go_list(old.test)}\n")
        if inst.args == ["NONE"]:
            config.healthcheck = HealthConfig(test=["NONE"])
        else:
            from .parser import parse_duration
            durations = {name: parse_duration(inst.flags[name]) or None
                         for name in ("interval", "timeout", "start-period") if name in inst.flags}
            retries = int(inst.flags.get("retries", "0")) or None
            config.healthcheck = HealthConfig(
                test=list(inst.args), interval=durations.get("interval"),
                timeout=durations.get("timeout"), start_period=durations.get("start-period"),
                retries=retries)
        return Committed(f"HEALTHCHECK {health_text(config.healthcheck)}")
    if cmd == "ONBUILD":
        trigger = inst.trigger
        assert trigger is not None
        config.on_build = (config.on_build or []) + [trigger.original]
        return Committed(f"ONBUILD {trigger.original}")
    raise DockerfileError(inst.line, f"{cmd} cannot change an image's config")


def apply_changes(config: ContainerConfig, changes: list[str]) -> None:
    """`commit --change 'CMD ["x"]'`: config instructions applied to `config` in place."""
    state = BuildState(config=config, cmd_set=True)
    for number, text in enumerate(changes, 1):
        try:
            inst = parse_line(number, text.strip())
        except DockerfileError as exc:
            raise ValueError(exc.reason) from None
        if inst.command not in CONFIG_ONLY:
            raise ValueError(f"{inst.command} is not a valid change command")
        try:
            apply_config(state, inst)
        except DockerfileError as exc:
            raise ValueError(exc.reason) from None
