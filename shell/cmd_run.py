"""`run` and `create`: the run flags (runconfig.py) -> POST /containers/create, then for
`run` the attach/start/wait dance of Docker 1.2's CmdRun."""

from __future__ import annotations

import os

from pyctr.engine.client.errors import APIError

from . import attach as session
from .commands import command
from .context import CLIError, Context
from pyctr.engine.client.frontend.runflags import CONTAINER_FLAGS, RUN_FLAGS, RunSpec, SpecError, build_spec


def _spec(ctx: Context, opts, args) -> RunSpec:
    try:
        spec = build_spec(opts, args, ctx.environ)
    except SpecError as exc:
        raise CLIError(str(exc)) from None
    if spec.cidfile and os.path.exists(spec.cidfile):
        raise CLIError(f"Container ID file found, make sure the other container isn't "
                       f"running or delete {spec.cidfile}")
    return spec


def pull_quietly_to_stderr(ctx: Context, image: str) -> None:
    """Pull `image` for run/create, its progress going to stderr as docker's did."""
    from .cmd_registry import pull_image

    stdout = ctx.stdout
    ctx.stdout = ctx.stderr
    try:
        pull_image(ctx, image)
    finally:
        ctx.stdout = stdout


def create_container(ctx: Context, spec: RunSpec) -> str:
    try:
        cid, warnings = ctx.client.create_container(spec.config, spec.host_config, spec.name)
    except APIError as exc:
        if exc.status != 404 or "image" not in exc.message.lower():
            raise
        # As Docker 1.2: pull the missing image (progress on stderr), then create again.
        ctx.err(f"Unable to find image '{spec.config.image}' locally\n")
        pull_quietly_to_stderr(ctx, spec.config.image)
        cid, warnings = ctx.client.create_container(spec.config, spec.host_config, spec.name)
    for warning in warnings:
        ctx.err(f"WARNING: {warning}\n")
    if spec.cidfile:
        with open(spec.cidfile, "x") as f:
            f.write(cid)
    return cid


@command("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
         *CONTAINER_FLAGS, min_args=1, max_args=None)
def create(ctx: Context, opts, args) -> int:
    ctx.out(create_container(ctx, _spec(ctx, opts, args)) + "\n")
    return 0


@command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container",
         *RUN_FLAGS, min_args=1, max_args=None)
def run(ctx: Context, opts, args) -> int:
    spec = _spec(ctx, opts, args)
    config = spec.config
    client = ctx.client
    cid = create_container(ctx, spec)
    attached = config.attach_stdin or config.attach_stdout or config.attach_stderr

    if not attached:  # -d (or nothing to attach): start and print the id
        _start(ctx, spec, cid)
        ctx.out(cid + "\n")
        return 0

    # Attach before starting so no early output is lost.
    stream = client.attach(cid, stdin=config.attach_stdin, stdout=config.attach_stdout,
                           stderr=config.attach_stderr)
    with stream:
        raw = config.tty and config.attach_stdin and ctx.stdin_is_tty
        with session.proxy_signals(ctx, cid, enabled=spec.sig_proxy and not config.tty), \
                session.raw_terminal(ctx.stdin_fd() if raw else None):
            _start(ctx, spec, cid)
            with session.monitor_tty_size(ctx, cid, enabled=config.tty and ctx.stdout_is_tty):
                if not config.attach_stdout and not config.attach_stderr:
                    ctx.out(cid + "\n")  # only stdin attached: docker printed the id
                session.pump(ctx, stream, config.tty, config.attach_stdin)

    if spec.auto_remove:
        status = client.wait(cid)
        client.remove_container(cid, volumes=True)
    elif config.tty:
        # With a TTY the user may have detached (Ctrl-P Ctrl-Q): don't block on
        # wait, report the exit code if it has exited, 0 if still running.
        status = _exit_code(ctx, cid)
    else:
        status = client.wait(cid)
    return status


def _start(ctx: Context, spec: RunSpec, cid: str) -> None:
    try:
        ctx.client.start(cid)  # HostConfig went with create
    except APIError:
        if spec.auto_remove:
            try:
                ctx.client.remove_container(cid, volumes=True, force=True)
            except APIError:
                pass  # the start error is the one worth reporting
        raise


def _exit_code(ctx: Context, cid: str) -> int:
    state = (ctx.client.inspect_container(cid) or {}).get("State") or {}
    return 0 if state.get("Running") else int(state.get("ExitCode") or 0)
