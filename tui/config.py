"""pyctr-tui's config file: key bindings, a theme, custom commands.

    $PYCTR_TUI_CONFIG, else $XDG_CONFIG_HOME/pyctr/tui.toml (~/.config/pyctr/tui.toml)

    theme = "nord"                       # a Textual theme

    [keys.containers]                    # keys.<scope>.<action> = "key[,key]"
    stop = "X"
    logs = "l,ctrl+l"

    [[commands]]                         # run on the selected container, output shown
    key = "H"
    name = "disk usage"
    command = "docker exec {id} du -sh /"

Every binding of the TUI has an id `<scope>.<action>` (Textual's keymap ids); a wrong
entry (an unknown scope, action, key name, placeholder, a key bound twice) is a problem
with its line, shown by the TUI, which keeps the default for that entry only."""

from __future__ import annotations

import dataclasses
import os
import re
import string
import tomllib
from dataclasses import dataclass, field

from textual.binding import Binding
from textual.keys import Keys, _normalize_key_list, key_to_character

ENV_VAR = "PYCTR_TUI_CONFIG"
MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}
KEY_NAMES = {key.value for key in Keys}
# What a custom command's {placeholders} may name, from the selected container.
PLACEHOLDERS = {"id", "short_id", "name", "image", "project", "service", "host"}
COMMAND_FIELDS = {"key", "name", "command"}


def with_ids(scope: str, bindings: list[Binding]) -> list[Binding]:
    """The bindings with keymap ids `scope.action` (arguments joined: tab('logs') -> tab_logs),
    the names the config file's [keys.<scope>] uses."""
    def name(action: str) -> str:
        head, _, args = action.partition("(")
        args = re.sub(r"\W+", "_", args.rstrip(")")).strip("_")
        return f"{head}_{args}" if args else head
    return [b if b.id else dataclasses.replace(b, id=f"{scope}.{name(b.action)}") for b in bindings]


def default_path() -> str:
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "pyctr", "tui.toml")


@dataclass
class CustomCommand:
    key: str
    name: str
    command: str     # with {placeholders}

    def render(self, values: dict[str, str]) -> str:
        """The shell command line, each value quoted for the shell."""
        import shlex
        return self.command.format(**{k: shlex.quote(v) for k, v in values.items()})


@dataclass
class TuiConfig:
    path: str = ""                 # "" when there is no file
    theme: str = ""
    keymap: dict[str, str] = field(default_factory=dict)
    commands: list[CustomCommand] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def valid_key(key: str) -> bool:
    """A key as Textual names it: `x`, `X`, `f5`, `ctrl+x`, `question_mark`, `space`."""
    *modifiers, base = key.split("+")
    if not base or any(m not in MODIFIERS for m in modifiers):
        return False
    return (len(base) == 1 and base.isprintable() and not base.isspace()) or base in KEY_NAMES \
        or key_to_character(base) is not None


def _lines(text: str) -> dict[tuple, int]:
    """The line of each table and key, by its path (("keys", "containers", "stop"),
    ("commands", 0, "key")): tomllib keeps no positions, the messages need them."""
    found: dict[tuple, int] = {}
    table: tuple = ()
    arrays: dict[tuple, int] = {}

    def path_of(dotted: str) -> tuple:
        return tuple(p.strip().strip("\"'") for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted))
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if match := re.match(r"\[\[\s*(.+?)\s*\]\]", stripped):
            name = path_of(match.group(1))
            arrays[name] = arrays.get(name, -1) + 1
            table = name + (arrays[name],)
        elif match := re.match(r"\[\s*(.+?)\s*\]", stripped):
            table = path_of(match.group(1))
        elif match := re.match(r"""((?:"[^"]*"|'[^']*'|[\w.\- ])+?)\s*=""", stripped):
            table_key = table + path_of(match.group(1))
            found.setdefault(table_key, number)
            continue
        else:
            continue
        found.setdefault(table, number)
    return found


def load(path: str, bindings: dict[str, list[Binding]], themes: set[str]) -> TuiConfig:
    """Read `path` (a missing file is no config). `bindings`: each scope's bindings,
    with ids, to check the [keys] against; `themes`: the theme names there are."""
    config = TuiConfig(path=path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        config.path = ""
        return config
    except OSError as exc:
        config.problems.append(f"{path}: {exc.strerror}")
        return config
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        config.problems.append(f"{path}: not valid TOML: {exc}; nothing in it applied")
        return config
    lines = _lines(text)

    def problem(where: tuple, message: str) -> None:
        line = next((lines[where[:n]] for n in range(len(where), 0, -1) if where[:n] in lines), 0)
        name = "".join(f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
        config.problems.append(f"{path}:{line}: {name}: {message}")

    for name in data:
        if name not in ("theme", "keys", "commands"):
            problem((name,), "unknown setting (there are: theme, keys, commands)")
    theme = data.get("theme")
    if theme is not None:
        if not isinstance(theme, str) or theme not in themes:
            problem(("theme",), f"unknown theme {theme!r} (there are: {', '.join(sorted(themes))})")
        else:
            config.theme = theme
    # each scope's keys as they end up: the defaults, then the file's
    by_id = {b.id: b for scope in bindings.values() for b in scope}
    final = {scope: {b.id: b.key for b in scope_bindings} for scope, scope_bindings in bindings.items()}
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        problem(("keys",), "must be a table of scopes: [keys.containers] stop = \"X\"")
        keys = {}
    for scope, actions in keys.items():
        if scope not in bindings:
            problem(("keys", scope), f"unknown scope (there are: {', '.join(bindings)})")
            continue
        if not isinstance(actions, dict):
            problem(("keys", scope), f"must be a table: [keys.{scope}] action = \"key\"")
            continue
        for action, value in actions.items():
            binding_id = f"{scope}.{action}"
            where = ("keys", scope, action)
            if binding_id not in by_id:
                names = sorted(b.id.split(".", 1)[1] for b in bindings[scope])
                problem(where, f"no such action in {scope} (there are: {', '.join(names)})")
            elif not isinstance(value, str) or not value.strip():
                problem(where, "a key must be a string such as \"x\", \"ctrl+x\" or \"f5,x\"")
            elif bad := [k for k in value.split(",") if not valid_key(k.strip())]:
                problem(where, f"not a key name: {', '.join(map(repr, bad))} "
                               "(keys look like x, X, f5, ctrl+x, space, question_mark)")
            else:
                config.keymap[binding_id] = _normalize_key_list(value)
                final[scope][binding_id] = config.keymap[binding_id]
    for scope, ids in final.items():
        # the keys left at their default first: a remap onto one of them is the clash
        owner = {key: binding_id for binding_id, keys_of in ids.items() if binding_id not in config.keymap
                 for key in keys_of.split(",")}
        for binding_id in [b for b in ids if b in config.keymap]:
            clash = next((key for key in ids[binding_id].split(",") if key in owner), None)
            if clash:
                problem(("keys", scope, binding_id.split(".", 1)[1]),
                        f"{clash!r} is already the key of {owner[clash]}")
                del config.keymap[binding_id]
            else:
                owner.update({key: binding_id for key in ids[binding_id].split(",")})
    commands = data.get("commands", [])
    if not isinstance(commands, list):
        problem(("commands",), "must be an array of tables: [[commands]]")
        commands = []
    containers = {b.id: config.keymap.get(b.id, b.key) for b in bindings.get("containers", [])}
    taken = {key: binding_id for binding_id, keys_of in containers.items() for key in keys_of.split(",")}
    for index, entry in enumerate(commands):
        where = ("commands", index)
        if not isinstance(entry, dict):
            problem(where, "must be a table with key, name and command")
            continue
        unknown = set(entry) - COMMAND_FIELDS
        missing = {"key", "command"} - set(entry)
        if unknown:
            problem(where + (sorted(unknown)[0],), f"unknown field (there are: {', '.join(sorted(COMMAND_FIELDS))})")
            continue
        if missing:
            problem(where, f"missing {', '.join(sorted(missing))}")
            continue
        key, command = entry["key"], entry["command"]
        if not isinstance(key, str) or not valid_key(key):
            problem(where + ("key",), f"not a key name: {key!r}")
            continue
        key = _normalize_key_list(key)
        if key in taken:
            problem(where + ("key",), f"{key!r} is already the key of {taken[key]}")
            continue
        if not isinstance(command, str) or not command.strip():
            problem(where + ("command",), "must be a shell command line")
            continue
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(command) if name is not None}
        except ValueError as exc:
            problem(where + ("command",), f"bad placeholder: {exc} (write {{{{ and }}}} for braces)")
            continue
        if bad := fields - PLACEHOLDERS:
            problem(where + ("command",), f"unknown placeholder {{{sorted(bad)[0]}}} "
                                          f"(there are: {', '.join('{%s}' % p for p in sorted(PLACEHOLDERS))})")
            continue
        taken[key] = f"command {index + 1}"
        config.commands.append(CustomCommand(key, str(entry.get("name") or command), command))
    config.problems.sort(key=lambda p: int(p[len(path) + 1:].split(":", 1)[0] or 0))
    return config
