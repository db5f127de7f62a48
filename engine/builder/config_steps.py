"""The Dockerfile instructions that change only an image's config (CMD, ENV,
EXPOSE, ...), applied to a build's state; `commit --change` applies the same
ones to a container's config. Apart from the evaluator, so that the daemon's
commit can use them without importing the builder's machinery."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ..api.config import ContainerConfig
from .parser import CONFIG_ONLY, DockerfileError, Instruction, parse_line, substitute, valid_port

SHELL = ["/bin/sh", "-c"]


@dataclass
class BuildState:
    image: str = ""                                  # the current image id
    config: ContainerConfig = field(default_factory=ContainerConfig)
    maintainer: str = ""
    cmd_set: bool = False                            # CMD seen (ENTRYPOINT keeps it then)


def go_list(items: list[str] | None) -> str:
    """How Go's %v prints a []string, which Docker 1.2 put into history lines."""
    return "[" + " ".join(items or []) + "]"


# --- config instructions (shared with `commit --change`) ------------------------------------

def _command(inst: Instruction) -> list[str] | None:
    if inst.json_form:
        return list(inst.args)
    return SHELL + inst.args if inst.args else None


def _set_env(config: ContainerConfig, pair: str) -> None:
    name = pair.split("=", 1)[0]
    env = [e for e in config.env or [] if e.split("=", 1)[0] != name]
    config.env = env + [pair]


def apply_config(state: BuildState, inst: Instruction) -> str:
    """Apply a config-only instruction to `state.config`; return its history text."""
    config = state.config
    cmd = inst.command
    env = config.env or []
    if cmd == "CMD":
        config.cmd = _command(inst)
        state.cmd_set = True
        return f"CMD {go_list(config.cmd)}"
    if cmd == "ENTRYPOINT":
        config.entrypoint = _command(inst)
        if not state.cmd_set:
            config.cmd = None  # 1.2: an ENTRYPOINT resets a CMD inherited from the parent
        return f"ENTRYPOINT {go_list(config.entrypoint)}"
    if cmd == "ENV":
        pairs = [p.split("=", 1)[0] + "=" + substitute(p.split("=", 1)[1], env) for p in inst.args]
        for pair in pairs:
            _set_env(config, pair)
        return "ENV " + " ".join(pairs)
    if cmd == "EXPOSE":
        ports = []
        for word in inst.args:
            port = substitute(word, env)
            if not valid_port(port):
                raise DockerfileError(inst.line, f"Invalid port for EXPOSE: {port}")
            ports.append(port if "/" in port else port + "/tcp")
        config.exposed_ports = {**(config.exposed_ports or {}), **{p: {} for p in ports}}
        return "EXPOSE " + go_list(ports)
    if cmd == "VOLUME":
        paths = [substitute(p, env) for p in inst.args]
        for path in paths:
            if not path.startswith("/"):
                raise DockerfileError(inst.line, f"VOLUME {path}: the path must be absolute")
        config.volumes = {**(config.volumes or {}), **{p: {} for p in paths}}
        return "VOLUME " + go_list(paths)
    if cmd == "USER":
        config.user = substitute(inst.args[0], env)
        return f"USER {config.user}"
    if cmd == "WORKDIR":
        path = substitute(inst.args[0], env)
        config.working_dir = posixpath.normpath(posixpath.join("/", config.working_dir or "/", path))
        return f"WORKDIR {config.working_dir}"
    if cmd == "ONBUILD":
        trigger = inst.trigger
        assert trigger is not None
        text = f"{trigger.command} {trigger.original}".strip()
        config.on_build = (config.on_build or []) + [text]
        return f"ONBUILD {text}"
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
