"""`pyctr exec`: run a command in a running container (Docker 1.3's exec)."""

from __future__ import annotations

from . import attach as session
from .commands import command
from .context import CLIError, Context
from pyctr.engine.client.frontend.flags import Flag


@command("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container",
         Flag("-d", "--detach", default=False, help="Detached mode: run the command in the background"),
         Flag("-i", "--interactive", default=False, help="Keep STDIN open even if not attached"),
         Flag("-t", "--tty", default=False, help="Allocate a pseudo-TTY"),
         Flag("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])"),
         Flag("-e", "--env", default=[], help="Set environment variables"),
         Flag("-w", "--workdir", default="", help="Working directory inside the container"),
         Flag("--privileged", default=False, help="Give extended privileges to the command"),
         min_args=2, max_args=None)
def exec_(ctx: Context, opts, args) -> int:
    container, cmd = args[0], args[1:]
    client = ctx.client
    # As docker: a missing container is the error to report first, and the TTY
    # check comes before the exec is created so a refusal leaves nothing behind.
    client.inspect_container(container)
    if not opts.detach:
        check_tty(ctx, opts.interactive, opts.tty)
    exec_id = client.exec_create(container, cmd, stdin=opts.interactive and not opts.detach,
                                 tty=opts.tty, user=opts.user, env=opts.env, workdir=opts.workdir,
                                 privileged=opts.privileged)
    if opts.detach:
        client.exec_start_detached(exec_id)
        return 0
    stream = client.exec_start(exec_id, tty=opts.tty)
    with stream:
        raw = opts.tty and opts.interactive and ctx.stdin_is_tty
        with session.raw_terminal(ctx.stdin_fd() if raw else None), \
                session.monitor_tty_size(ctx, container, enabled=opts.tty and ctx.stdout_is_tty,
                                         exec_id=exec_id):
            session.pump(ctx, stream, opts.tty, opts.interactive)
    code = client.exec_inspect(exec_id).get("ExitCode")
    return code if isinstance(code, int) else 0


def check_tty(ctx: Context, stdin: bool, tty: bool) -> None:
    """`-it` with a stdin that is no terminal is refused, as the docker CLI does."""
    if tty and stdin and not ctx.stdin_is_tty:
        raise CLIError("the input device is not a TTY")
