"""Container commands other than run/create."""

from __future__ import annotations

import json
import os

from pyctr.engine.client.streams import copy_raw, demux

from . import attach as session
from . import render
from .commands import command
from .context import CLIError, Context
from pyctr.engine.client.frontend.flags import Flag


def parse_filters(values: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise CLIError(f"Bad format of filter (expected name=value): {value}")
        filters.setdefault(key.strip().lower(), []).append(val.strip())
    return filters


@command("ps", "[OPTIONS]", "List containers",
         Flag("-a", "--all", default=False, help="Show all containers. Only running containers are shown by default."),
         Flag("--before", default="", help="Show only container created before Id or Name, include non-running ones."),
         Flag("-f", "--filter", default=[], help="Provide filter values. Valid filters:\nexited=<int> - containers with exit code of <int>"),
         Flag("--format", default="", help="Format output using a custom template:\n"
              "'table', 'table TEMPLATE', 'json' or a Go template (docker 28's fields)"),
         Flag("-l", "--latest", default=False, help="Show only the latest created container, include non-running ones."),
         Flag("-n", default=-1, help="Show n last created containers, include non-running ones."),
         Flag("--no-trunc", default=False, help="Don't truncate output"),
         Flag("-q", "--quiet", default=False, help="Only display numeric IDs"),
         Flag("-s", "--size", default=False, help="Display sizes"),
         Flag("--since", default="", help="Show only containers created since Id or Name, include non-running ones."))
def ps(ctx: Context, opts, args) -> int:
    limit = 1 if opts.latest and opts.n == -1 else opts.n
    if opts.format:
        return _ps_formatted(ctx, opts, limit)
    containers = ctx.client.containers(all=opts.all, limit=limit, since=opts.since,
                                       before=opts.before, size=opts.size,
                                       filters=parse_filters(opts.filter))
    ctx.out(render.ps_table(containers, no_trunc=opts.no_trunc, size=opts.size, quiet=opts.quiet))
    return 0


def _ps_formatted(ctx: Context, opts, limit: int) -> int:
    """`ps --format`: the docker CLI 28's rows and fields; a template naming .Size asks for sizes."""
    from . import listformat, listviews

    fmt = listformat.resolve(opts.format, listviews.PS_TABLE, opts.quiet)
    if opts.quiet and opts.format not in ("table",):
        # docker 28's ps (only ps) lets -q win over a custom format, and says so
        ctx.err("WARNING: Ignoring custom format, because both --format and --quiet are set.\n")
        fmt = "{{.ID}}"
    found = ctx.client.list_modern("containers", {
        "all": opts.all, "limit": limit, "since": opts.since, "before": opts.before,
        "size": opts.size or ".Size" in fmt, "filters": parse_filters(opts.filter)})
    rows = [listviews.container_row(c, trunc=not opts.no_trunc) for c in found]
    ctx.out(listformat.render(rows, fmt, listviews.PS_HEADERS))
    return 0


@command("start", "CONTAINER [CONTAINER...]", "Restart a stopped container",
         Flag("-a", "--attach", default=False, help="Attach container's STDOUT and STDERR and forward all signals to the process"),
         Flag("-i", "--interactive", default=False, help="Attach container's STDIN"),
         min_args=1, max_args=None)
def start(ctx: Context, opts, args) -> int:
    if not (opts.attach or opts.interactive):
        return ctx.for_each(args, ctx.client.start)
    if len(args) > 1:
        raise CLIError("You cannot start and attach multiple containers at once.")
    name = args[0]
    info = ctx.client.inspect_container(name) or {}
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = opts.interactive and bool(config.get("OpenStdin"))
    stream = ctx.client.attach(name, stdin=stdin)
    with stream:
        raw = tty and stdin and ctx.stdin_is_tty
        with session.proxy_signals(ctx, name, enabled=not tty), \
                session.raw_terminal(ctx.stdin_fd() if raw else None):
            ctx.client.start(name)
            with session.monitor_tty_size(ctx, name, enabled=tty and ctx.stdout_is_tty):
                session.pump(ctx, stream, tty, stdin)
    return _exit_code(ctx, name)


def _exit_code(ctx: Context, name: str) -> int:
    state = (ctx.client.inspect_container(name) or {}).get("State") or {}
    return 0 if state.get("Running") else int(state.get("ExitCode") or 0)


@command("stop", "[OPTIONS] CONTAINER [CONTAINER...]",
         "Stop a running container by sending SIGTERM and then SIGKILL after a grace period",
         Flag("-t", "--time", default=10, help="Number of seconds to wait for the container to stop before killing it. Default is 10 seconds."),
         min_args=1, max_args=None)
def stop(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.client.stop(name, opts.time))


@command("restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart a running container",
         Flag("-t", "--time", default=10, help="Number of seconds to try to stop for before killing the container. Once killed it will then be restarted. Default is 10 seconds."),
         min_args=1, max_args=None)
def restart(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.client.restart(name, opts.time))


@command("kill", "[OPTIONS] CONTAINER [CONTAINER...]",
         "Kill a running container using SIGKILL or a specified signal",
         Flag("-s", "--signal", default="KILL", help="Signal to send to the container"),
         min_args=1, max_args=None)
def kill(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.client.kill(name, opts.signal))


@command("pause", "CONTAINER [CONTAINER...]", "Pause all processes within a container",
         min_args=1, max_args=None)
def pause(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, ctx.client.pause)


@command("unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within a container",
         min_args=1, max_args=None)
def unpause(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, ctx.client.unpause)


@command("wait", "CONTAINER [CONTAINER...]",
         "Block until a container stops, then print its exit code.", min_args=1, max_args=None,
         summary="Block until a container stops, then print its exit code")
def wait(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.out(f"{ctx.client.wait(name)}\n"), echo=False)


@command("rename", "CONTAINER NEW_NAME", "Rename a container", min_args=2, max_args=2)
def rename(ctx: Context, opts, args) -> int:
    old, new = (arg.strip() for arg in args)
    # docker's own checks, made before asking the daemon, with its words
    if not old or not new:
        raise CLIError("Error: Neither old nor new names may be empty")
    ctx.client.rename(old, new)
    return 0


@command("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
         Flag("-f", "--force", default=False, help="Force the removal of a running container (uses SIGKILL)"),
         Flag("-l", "--link", default=False, help="Remove the specified link and not the underlying container"),
         Flag("-v", "--volumes", default=False, help="Remove the volumes associated with the container"),
         min_args=1, max_args=None)
def rm(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.client.remove_container(
        name, volumes=opts.volumes, force=opts.force, link=opts.link))


@command("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container",
         Flag("-f", "--follow", default=False, help="Follow log output"),
         Flag("-t", "--timestamps", default=False, help="Show timestamps"),
         Flag("--tail", default="all", help="Output the specified number of lines at the end of logs (defaults to all logs)"),
         min_args=1, max_args=1)
def logs(ctx: Context, opts, args) -> int:
    info = ctx.client.inspect_container(args[0]) or {}
    tty = bool((info.get("Config") or {}).get("Tty"))
    tail = opts.tail if opts.tail == "all" or opts.tail.isdigit() else "all"  # as docker 1.2
    with ctx.client.logs(args[0], follow=opts.follow, timestamps=opts.timestamps, tail=tail) as resp:
        if tty:
            copy_raw(resp.read, ctx.out_bytes)
        else:
            demux(resp.read, ctx.out_bytes, ctx.err_bytes)
    return 0


@command("attach", "[OPTIONS] CONTAINER", "Attach to a running container",
         Flag("--no-stdin", default=False, help="Do not attach STDIN"),
         Flag("--sig-proxy", default=True, help="Proxy all received signals to the process (even in non-TTY mode). SIGCHLD, SIGKILL, and SIGSTOP are not proxied."),
         min_args=1, max_args=1)
def attach(ctx: Context, opts, args) -> int:
    name = args[0]
    info = ctx.client.inspect_container(name) or {}
    if not (info.get("State") or {}).get("Running"):
        raise CLIError("You cannot attach to a stopped container, start it first")
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = not opts.no_stdin and bool(config.get("OpenStdin"))
    with session.monitor_tty_size(ctx, name, enabled=tty and ctx.stdout_is_tty):
        stream = ctx.client.attach(name, stdin=stdin)
        with stream, session.proxy_signals(ctx, name, enabled=opts.sig_proxy and not tty), \
                session.raw_terminal(ctx.stdin_fd() if tty and stdin and ctx.stdin_is_tty else None):
            session.pump(ctx, stream, tty, stdin)
    return _exit_code(ctx, name)


@command("top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container",
         min_args=1, max_args=None)
def top(ctx: Context, opts, args) -> int:
    ctx.out(render.top_table(ctx.client.top(args[0], " ".join(args[1:]))))
    return 0


@command("port", "CONTAINER [PRIVATE_PORT[/PROTO]]",
         "Lookup the public-facing port that is NAT-ed to PRIVATE_PORT", min_args=1, max_args=2)
def port(ctx: Context, opts, args) -> int:
    info = ctx.client.inspect_container(args[0]) or {}
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) == 1:
        for key in sorted(ports):
            for b in ports[key] or []:
                ctx.out(f"{key} -> {b.get('HostIp', '')}:{b.get('HostPort', '')}\n")
        return 0
    number, _, proto = args[1].partition("/")
    bindings = ports.get(f"{number}/{proto or 'tcp'}")
    if not bindings:
        raise CLIError(f"Error: No public port '{args[1]}' published for {args[0]}")
    for b in bindings:
        ctx.out(f"{b.get('HostIp', '')}:{b.get('HostPort', '')}\n")
    return 0


@command("diff", "CONTAINER", "Inspect changes on a container's filesystem",
         min_args=1, max_args=1)
def diff(ctx: Context, opts, args) -> int:
    ctx.out(render.diff_lines(ctx.client.changes(args[0])))
    return 0


@command("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
         "Create a new image from a container's changes",
         Flag("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
         Flag("-m", "--message", default="", help="Commit message"),
         Flag("-p", "--pause", default=True, help="Pause container during commit"),
         Flag("--run", default="", help='Config automatically applied when the image is run. (ex: --run=\'{"Cmd": ["cat", "/world"], "PortSpecs": ["22"]}\')'),
         min_args=1, max_args=2)
def commit(ctx: Context, opts, args) -> int:
    repo, tag = render.split_repo_tag(args[1]) if len(args) > 1 else ("", "")
    config = None
    if opts.run:
        try:
            config = json.loads(opts.run)
        except ValueError as exc:
            raise CLIError(f"Error: invalid --run config: {exc}") from None
    image_id = ctx.client.commit(args[0], repo=repo, tag=tag, message=opts.message,
                                 author=opts.author, pause=opts.pause, config=config)
    ctx.out(image_id + "\n")
    return 0


@command("cp", "CONTAINER:PATH HOSTPATH",
         "Copy files/folders from the PATH to the HOSTPATH", min_args=2, max_args=2)
def cp(ctx: Context, opts, args) -> int:
    container, sep, path = args[0].partition(":")
    if not sep or not path:
        raise CLIError("Error: Path not specified")
    import tarfile  # lazily: 5 ms of imports only cp needs

    class NoChownTar(tarfile.TarFile):
        """docker cp untars with NoLchown: files belong to whoever runs the client."""

        def chown(self, *args, **kwargs) -> None:
            pass

    with ctx.client.copy(container, path) as resp:
        with NoChownTar.open(fileobj=resp.raw, mode="r|*") as tar:
            if hasattr(tarfile, "tar_filter"):
                # the 'tar' filter refuses absolute names and paths escaping HOSTPATH
                tar.extractall(args[1], filter="tar")
            else:   # Debian 12's Python 3.11.2 predates extraction filters
                tar.extractall(args[1], members=_inside(tar, args[1]))
    return 0


def _inside(tar, dest: str):
    """The members of a streamed tar, refusing (as the 'tar' filter does) absolute names and
    names or link targets that would land outside `dest`."""
    root = os.path.realpath(dest)

    def outside(path: str) -> bool:
        return os.path.commonpath([root, os.path.realpath(path)]) != root

    for member in tar:
        member.name = member.name.lstrip("/")   # as the filter: /etc/x lands as etc/x
        target = os.path.join(root, member.name)
        if os.path.isabs(member.name) or outside(target):
            raise CLIError(f"Error: {member.name!r} would be written outside {dest}")
        if member.issym() and (os.path.isabs(member.linkname)
                               or outside(os.path.join(os.path.dirname(target), member.linkname))):
            raise CLIError(f"Error: the link {member.name!r} points outside {dest}")
        if member.islnk() and (os.path.isabs(member.linkname) or outside(os.path.join(root, member.linkname))):
            raise CLIError(f"Error: the link {member.name!r} points outside {dest}")
        yield member


def refuse_terminal(ctx: Context, what: str) -> None:
    if ctx.stdout_is_tty:
        raise CLIError(f"Cowardly refusing to write {what} to a terminal. "
                       "Use the -o flag or redirect.")


@command("export", "CONTAINER", "Export the contents of a filesystem as a tar archive to STDOUT",
         Flag("-o", "--output", default="", help="Write to a file, instead of STDOUT"),
         min_args=1, max_args=1)
def export(ctx: Context, opts, args) -> int:
    write_stream(ctx, ctx.client.export(args[0]), opts.output, "an archive")
    return 0


def write_stream(ctx: Context, resp, output: str, what: str) -> None:
    with resp:
        if output:
            tmp = output + ".pyctr-tmp"
            try:
                with open(tmp, "wb") as f:
                    copy_raw(resp.read, f)
                os.replace(tmp, output)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            refuse_terminal(ctx, what)
            copy_raw(resp.read, ctx.out_bytes)

