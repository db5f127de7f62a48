"""Docker's management commands (`pyctr network ls`, `pyctr system df`, `pyctr container
rm`): a group of verbs, each one `Command` of the one grammar, dispatched with the
docker CLI's (cobra's) usage errors and exit codes: 1 for a wrong count of arguments,
125 for an unknown flag, 0 with the group's usage for no verb."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pyctr.engine.client.frontend.flags import PROG, Command, HelpRequested, UsageError

from .context import Context

GROUPS: dict[str, "Group"] = {}


@dataclass
class Group:
    name: str
    description: str
    verbs: dict[str, Command] = field(default_factory=dict)   # verb or alias -> command
    aliases: dict[str, str] = field(default_factory=dict)      # alias -> verb
    unknown_usage: str = ""   # the use line docker shows after an unknown verb ("volume COMMAND")

    def add(self, verb: str, cmd: Command, *aliases: str) -> Command:
        self.verbs[verb] = cmd
        for alias in aliases:
            self.verbs[alias] = cmd
            self.aliases[alias] = verb
        return cmd

    def verb(self, verb: str, usage: str, description: str, *flags, min_args: int = 0,
             max_args: int | None = 0, aliases: tuple[str, ...] = ()) -> Callable:
        """Declare a verb of this group; the decorated function is its handler(ctx, opts, args)."""

        def register(handler: Callable) -> Callable:
            self.add(verb, Command(f"{self.name} {verb}", usage, description, flags, handler,
                                   min_args, max_args), *aliases)
            return handler

        return register

    def reuse(self, verb: str, top_level: str, *aliases: str) -> Command:
        """`pyctr GROUP VERB` as the top-level command `top_level` (`system info` = `info`,
        `container ls` = `ps`): the same flags and handler, under the group's name."""
        from .commands import load

        cmd = load(top_level)
        assert cmd is not None, top_level
        return self.add(verb, Command(f"{self.name} {verb}", cmd.usage, cmd.description, cmd.flags,
                                      cmd.handler, cmd.min_args, cmd.max_args), *aliases)

    def listed(self) -> list[tuple[str, Command]]:
        return sorted((v, c) for v, c in self.verbs.items() if v not in self.aliases)

    def usage(self) -> str:
        width = max(len(v) for v, _ in self.listed()) + 2
        rows = "".join(f"  {v:<{max(width, 12)}}{c.description}\n" for v, c in self.listed())
        return (f"Usage:  {PROG} {self.name} COMMAND\n\n{self.description}\n\nCommands:\n{rows}\n"
                f"Run '{PROG} {self.name} COMMAND --help' for more information on a command.\n")

    def run(self, ctx: Context, args: list[str]) -> int:
        if not args:
            ctx.err(self.usage())  # docker prints it to stderr, and exits 0
            return 0
        if args[0] in ("--help", "-h"):
            ctx.out(self.usage())
            return 0
        cmd = self.verbs.get(args[0])
        if cmd is None:
            ctx.err(f"{PROG}: unknown command: {PROG} {self.name} {args[0]}\n\n"
                    f"Usage:  {PROG} {self.unknown_usage or self.name}\n\n"
                    f"Run '{PROG} {self.name} --help' for more information\n")
            return 1
        try:
            opts, rest = cmd.parse(args[1:])
        except HelpRequested:
            ctx.out(cmd.help_text())
            return 0
        except UsageError as exc:
            ctx.err(usage_error(cmd, exc.message, len(_positional(args[1:]))))
            return 125 if exc.message.startswith(("flag provided", "flag needs", "invalid")) else 1
        return int(cmd.handler(ctx, opts, rest) or 0)


def _positional(argv: list[str]) -> list[str]:
    return [a for a in argv if not a.startswith("-")]


def usage_error(cmd: Command, message: str, given: int) -> str:
    """cobra's texts, as the docker CLI 28 prints them."""
    path = f"{PROG} {cmd.name}"
    use = f"Usage:  {path} {cmd.usage}".rstrip()
    if message.startswith("flag provided but not defined: "):
        name = message.rsplit(" ", 1)[1]
        what = f"unknown flag: {name}" if name.startswith("--") else \
            f"unknown shorthand flag: '{name[1:2]}' in {name}"
        return f"{what}\n\n{use}\n\nRun '{path} --help' for more information\n"
    if message.startswith(("flag needs", "invalid")):
        return f"{message}\n\n{use}\n\nRun '{path} --help' for more information\n"
    lo, hi = cmd.min_args, cmd.max_args
    plural = lambda n: "argument" if n == 1 else "arguments"  # noqa: E731
    if lo == hi == 0:
        return f"{PROG}: '{path}' accepts no arguments\n\n{use}\n\nRun '{path} --help' for more information\n"
    if lo == hi:
        return (f"{PROG}: '{path}' requires {lo} {plural(lo)}\n\n{use}\n\n"
                f"Run '{path} --help' for more information\n")
    if given < lo:
        return (f"{PROG}: '{path}' requires at least {lo} {plural(lo)}\n\n{use}\n\n"
                f"See '{path} --help' for more information\n")
    return (f"{PROG}: '{path}' requires at most {hi} {plural(hi or 0)}\n\n{use}\n\n"
            f"See '{path} --help' for more information\n")


class GroupCommand(Command):
    """A group as a top-level command: every word after it is the group's to read
    (`pyctr network --help` is the group's usage, not a flag of `network`)."""

    def __init__(self, made: Group):
        super().__init__(made.name, "COMMAND", made.description, (),
                         lambda ctx, opts, args: made.run(ctx, args), 0, None)
        self.group = made

    def parse(self, argv):
        from types import SimpleNamespace

        return SimpleNamespace(), list(argv)

    def help_text(self) -> str:
        return self.group.usage()


def group(name: str, description: str, unknown_usage: str = "") -> Group:
    """The group `name`, made once and registered as a top-level command."""
    from .commands import REGISTRY

    if name not in GROUPS:
        made = GROUPS[name] = Group(name, description, unknown_usage=unknown_usage)
        REGISTRY[name] = GroupCommand(made)
    return GROUPS[name]
