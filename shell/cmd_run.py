"""`run` and `create`: docker CLI 28's flags (engine/client/frontend/runflags.py) ->
POST /containers/create at v1.41, then for `run` the attach/start/wait of docker's run."""

from __future__ import annotations

import os

from pyctr.engine.client.errors import APIError
from pyctr.engine.client.frontend.flags import PROG
from pyctr.engine.client.frontend.runflags import CONTAINER_FLAGS, RUN_FLAGS, RunSpec, SpecError, build_spec

from . import attach as session
from .cmd_exec import check_tty
from .commands import command
from .context import CLIError, Context


def _refusal(name: str, message: str) -> CLIError:
    """docker's run/create refusal: "docker: ...", a pointer to --help, exit 125."""
    return CLIError(f"{PROG}: {message}\n\nRun '{PROG} {name} --help' for more information", status=125)


def _spec(ctx: Context, opts, args, name: str) -> RunSpec:
    try:
        spec = build_spec(opts, args, ctx.environ)
    except SpecError as exc:
        raise _refusal(name, str(exc)) from None
    if spec.cidfile and os.path.exists(spec.cidfile):
        raise _refusal(name, f"Container ID file found, make sure the other container isn't "
                             f"running or delete {spec.cidfile}")
    if spec.config.tty and ctx.stdout_is_tty:
        # docker sends the terminal's size with -t, so the first output is laid out right
        size = os.get_terminal_size(ctx.stdout.fileno())
        spec.host_config.console_size = [size.lines, size.columns]
    return spec


def pull_quietly_to_stderr(ctx: Context, image: str, quiet: bool = False) -> None:
    """Pull `image` for run/create, its progress going to stderr as docker's does
    (nowhere with -q)."""
    import io

    from .cmd_registry import pull_image

    stdout = ctx.stdout
    ctx.stdout = io.StringIO() if quiet else ctx.stderr
    try:
        pull_image(ctx, image)
    finally:
        ctx.stdout = stdout


def _image_missing(exc: APIError) -> bool:
    return exc.status == 404 and "image" in exc.message.lower()


def create_container(ctx: Context, spec: RunSpec) -> str:
    """Create as docker 28 does, with its --pull policy: missing pulls what is not
    there (then creates again), always pulls first, never only reports the 404."""
    def create():
        return ctx.client.create_container_modern(spec.config, spec.host_config, spec.endpoints, spec.name)

    if spec.pull == "always":
        pull_quietly_to_stderr(ctx, spec.config.image, spec.quiet)
    try:
        cid, warnings = create()
    except APIError as exc:
        if not _image_missing(exc) or spec.pull != "missing":
            raise
        if not spec.quiet:
            ctx.err(f"Unable to find image '{_with_tag(spec.config.image)}' locally\n")
        pull_quietly_to_stderr(ctx, spec.config.image, spec.quiet)
        cid, warnings = create()
    for warning in warnings:
        ctx.err(f"WARNING: {warning}\n")
    if spec.cidfile:
        with open(spec.cidfile, "x") as f:
            f.write(cid)
    return cid


def _with_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return image if "@" in image or ":" in last else image + ":latest"


@command("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
         *CONTAINER_FLAGS, min_args=1, max_args=None, usage_status=125)
def create(ctx: Context, opts, args) -> int:
    ctx.out(create_container(ctx, _spec(ctx, opts, args, "create")) + "\n")
    return 0


@command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
         *RUN_FLAGS, min_args=1, max_args=None, usage_status=125)
def run(ctx: Context, opts, args) -> int:
    spec = _spec(ctx, opts, args, "run")
    config = spec.config
    client = ctx.client
    if config.attach_stdin or config.attach_stdout or config.attach_stderr:
        check_tty(ctx, config.attach_stdin, config.tty)  # before anything is created
    try:
        cid = create_container(ctx, spec)
    except APIError as exc:
        raise _refusal("run", f"Error response from daemon: {exc.message}") from None
    except CLIError as exc:   # a pull that failed in its stream
        raise _refusal("run", exc.message) from None
    attached = config.attach_stdin or config.attach_stdout or config.attach_stderr

    if not attached:  # -d (or nothing to attach): start and print the id
        _start(ctx, spec, cid)
        ctx.out(cid + "\n")
        return 0

    # As docker 28: the wait is in place before the start, so neither a quick exit nor
    # AutoRemove's removal can come first (a wait asked after the removal finds no container).
    waiting = client.wait_begin(cid, "removed" if spec.auto_remove else "next-exit") \
        if spec.auto_remove or not config.tty else None
    try:
        # Attach before starting so no early output is lost.
        stream = client.attach(cid, stdin=config.attach_stdin, stdout=config.attach_stdout,
                               stderr=config.attach_stderr, detach_keys=spec.detach_keys)
        with stream:
            raw = config.tty and config.attach_stdin and ctx.stdin_is_tty
            with session.proxy_signals(ctx, cid, enabled=spec.sig_proxy and not config.tty), \
                    session.raw_terminal(ctx.stdin_fd() if raw else None):
                _start(ctx, spec, cid)
                with session.monitor_tty_size(ctx, cid, enabled=config.tty and ctx.stdout_is_tty):
                    if not config.attach_stdout and not config.attach_stderr:
                        ctx.out(cid + "\n")  # only stdin attached: docker printed the id
                    session.pump(ctx, stream, config.tty, config.attach_stdin)
    except BaseException:
        if waiting is not None:
            waiting.close()
        raise
    if waiting is not None:
        return client.wait_end(waiting)
    # With a TTY the user may have detached (Ctrl-P Ctrl-Q): don't block on
    # wait, report the exit code if it has exited, 0 if still running.
    return _exit_code(ctx, cid)


def _start(ctx: Context, spec: RunSpec, cid: str) -> None:
    ctx.client.start(cid)  # HostConfig went with create; AutoRemove removes it if the start fails


def _exit_code(ctx: Context, cid: str) -> int:
    state = (ctx.client.inspect_container(cid) or {}).get("State") or {}
    return 0 if state.get("Running") else int(state.get("ExitCode") or 0)
