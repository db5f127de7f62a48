"""`pyctr`: the Docker 1.2 command line, against pyctrd.

`main(argv, stdout, stderr)` runs one command line and returns its exit code,
so tests (and the REPL, through `run_command`) can run it in-process.
Imports are kept lazy: `pyctr --version` loads nothing beyond this file."""

from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Any, Mapping, Sequence, TextIO

from pyctr.engine.client.frontend.flags import PROG, Flag, HelpRequested, UsageError, flag_table

VERSION = "0.1.0"  # keep in step with pyproject.toml (importlib.metadata costs ~10 ms)

GLOBAL_FLAGS = [
    Flag("-D", "--debug", default=False, help="Enable debug mode"),
    Flag("-H", "--host", default=[], help=(
        "The socket to connect to, tcp://host:port or unix:///path/to/socket\n"
        "(default: $PYCTR_HOST, then $DOCKER_HOST, then unix:///var/run/pyctr.sock)")),
    Flag("--tls", default=False, help="Use TLS; implied by --tlsverify"),
    Flag("--tlsverify", default=False, help="Use TLS and verify the daemon (env DOCKER_TLS_VERIFY)"),
    Flag("--tlscacert", default="", help="Trust only remotes providing a certificate signed by this CA "
                                         "(default: $DOCKER_CERT_PATH/ca.pem, ~/.pyctr/ca.pem)"),
    Flag("--tlscert", default="", help="Path to the TLS certificate file (default: cert.pem there)"),
    Flag("--tlskey", default="", help="Path to the TLS key file (default: key.pem there)"),
    Flag("-v", "--version", default=False, help="Print version information and quit"),
]


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None, stdin: Any = None,
         environ: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    from pyctr.engine.client.frontend.flags import Command

    top = Command("", "[OPTIONS] COMMAND [arg...]", "", GLOBAL_FLAGS, max_args=None)
    try:
        opts, rest = top.parse(argv)
    except HelpRequested:
        stdout.write(usage())
        return 0
    except UsageError as exc:
        stderr.write(f"{exc.message}\nSee '{PROG} --help'.\n")
        return 2
    if opts.version:
        stdout.write(f"{PROG} version {VERSION}\n")
        return 0
    if not rest:
        stderr.write(usage())
        return 2 if argv else 0

    from .context import Context

    from pyctr.engine.client.tls import from_options

    tls = from_options(opts.tls, opts.tlsverify, opts.tlscacert, opts.tlscert, opts.tlskey, environ)
    ctx = Context(host=opts.host[-1] if opts.host else None, debug=opts.debug,
                  stdin=stdin, stdout=stdout, stderr=stderr, environ=environ, tls=tls)
    return run_command(ctx, rest)


def run_command(ctx, argv: Sequence[str]) -> int:
    """Run one command line (without the global flags) and return its exit code."""
    from . import commands
    from .context import exit_status, usage_hint

    name, args = argv[0], list(argv[1:])
    if name == "help":
        if args and commands.load(args[0]):
            ctx.out(commands.load(args[0]).help_text())
            return 0
        ctx.out(usage())
        return 0
    cmd = commands.load(name)
    if cmd is None:
        ctx.err(f"{PROG}: '{name}' is not a {PROG} command.\nSee '{PROG} --help'.\n")
        return 2
    try:
        opts, args = cmd.parse(args)
    except HelpRequested:
        ctx.out(cmd.help_text())
        return 0
    except UsageError as exc:
        ctx.err(f"{exc.message}\n{usage_hint(name)}\n\n"
                f"Usage: {PROG} {name} {cmd.usage}\n\n{cmd.description}\n")
        return cmd.usage_status
    try:
        return int(cmd.handler(ctx, opts, args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 141  # stdout closed (`pyctr images | head`): not an error worth a trace
    except Exception as exc:  # noqa: BLE001 - the one place errors become text + status
        if not _expected(exc):
            raise
        if exc.__class__.__name__ != "StatusExit":
            ctx.report(exc)
        if ctx.debug:
            import traceback

            traceback.print_exc(file=ctx.stderr)
        return exit_status(exc)


def _expected(exc: BaseException) -> bool:
    from pyctr.engine.client.errors import ClientError

    from .context import CLIError, StatusExit

    return isinstance(exc, (ClientError, CLIError, StatusExit, OSError))


def usage() -> str:
    from . import commands

    text = (f"Usage: {PROG} [OPTIONS] COMMAND [arg...]\n\n"
            "A self-sufficient runtime for linux containers (the pyctr client).\n\n"
            "Options:\n" + flag_table(GLOBAL_FLAGS) + "\nCommands:\n")
    listed = commands.all_commands()
    width = max(10, max(len(cmd.name) for cmd in listed) + 1)  # `completion` is 10 letters
    for cmd in listed:
        text += f"    {cmd.name:<{width}}{cmd.summary}\n"
    return text + f"\nRun '{PROG} COMMAND --help' for more information on a command.\n"


if __name__ == "__main__":
    sys.exit(main())
