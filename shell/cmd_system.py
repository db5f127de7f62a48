"""version, info, events, inspect.

Imports are made where they are used: `pyctr version` loads this module, and must not
pay for the HTTP client, the wire model or the renderers the other verbs need."""

from __future__ import annotations

import sys
import time

from .commands import command
from .context import CLIError, Context, StatusExit
from pyctr.engine.client.frontend.flags import Flag


def _machine() -> str:
    import os

    machine = os.uname().machine  # what platform.machine() reads, without platform's import
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@command("version", "", "Show the pyctr version information.")
def version(ctx: Context, opts, args) -> int:
    from pyctr.engine.client.apiversion import API_VERSION
    from pyctr.engine.client.hosts import resolve

    from .cli import VERSION

    python = ".".join(str(n) for n in sys.version_info[:3])
    ctx.out(f"Client version: {VERSION}\nClient API version: {API_VERSION}\n"
            f"Python version (client): {python}\nOS/Arch (client): {sys.platform}/{_machine()}\n")
    server = None
    if ctx.tls is None:
        from pyctr.engine.client.quick import get_json

        server = get_json(resolve(ctx.host, ctx.environ), f"/v{API_VERSION}/version")
    if isinstance(server, dict):
        text = f"Server version: {server.get('Version', '')}\n"
        if server.get("ApiVersion"):
            text += f"Server API version: {server['ApiVersion']}\n"
        ctx.out(text + f"Go version (server): {server.get('GoVersion', '')}\n"
                       f"Git commit (server): {server.get('GitCommit', 'pyctr')}\n")
        return 0
    from . import render

    ctx.out(render.server_version_text(ctx.client.version_info()))  # errors as every verb gives them
    return 0


@command("info", "", "Display system-wide information")
def info(ctx: Context, opts, args) -> int:
    from . import render
    from .cmd_registry import INDEX_SERVER, load_auth

    data = ctx.client.info()
    user = load_auth(ctx, data.index_server_address or INDEX_SERVER).username
    text, warnings = render.info_text(data, debug_client=ctx.debug, username=user)
    ctx.out(text)
    ctx.err(warnings)
    return 0


_TIME_LAYOUTS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H",
                 "%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S")


_DURATION = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"  # compiled on first use: re costs start-up
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """A Go duration ("10m", "1h30m", "0s") in seconds, or None if `text` is not one."""
    import re

    pos, total = 0, 0.0
    while pos < len(text):
        match = re.compile(_DURATION).match(text, pos)  # re caches the compiled pattern
        if match is None:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total if text else None


def parse_time(text: str, now: float | None = None) -> str:
    """--since/--until: a Unix timestamp, a duration before now ("10m", "0s", as
    today's docker takes it), or a date as Docker 1.2 accepted it (a prefix of
    "2006-01-02 15:04:05 -0700 MST", local time)."""
    if not text or text.lstrip("-").isdigit():
        return text
    ago = parse_duration(text)
    if ago is not None:
        nanos = int(((time.time() if now is None else now) - ago) * 1e9)
        return f"{nanos // 1_000_000_000}.{nanos % 1_000_000_000:09d}"
    from datetime import datetime

    trimmed = text.rsplit(" ", 1)[0] if text.count(" ") == 3 else text  # drop zone name
    for layout in _TIME_LAYOUTS:
        try:
            stamp = datetime.strptime(trimmed, layout)
        except ValueError:
            continue
        if stamp.tzinfo is None:
            stamp = stamp.astimezone()
        return str(int(stamp.timestamp()))
    return text  # let the daemon judge it, as docker did


@command("events", "[OPTIONS]", "Get real time events from the server",
         Flag("-f", "--filter", default=[], help="Filter output based on conditions provided"),
         Flag("--format", default="", help="Format output using a custom template:\n"
              "'json':             Print in JSON format\n"
              "'TEMPLATE':         Print output using the given Go template"),
         Flag("--since", default="", help="Show all events created since timestamp"),
         Flag("--until", default="", help="Stream events until this timestamp"))
def events(ctx: Context, opts, args) -> int:
    from .cmd_containers import parse_filters

    from .progress import show_stream

    filters = parse_filters(opts.filter)
    if not opts.format:
        show_stream(ctx, ctx.client.events(parse_time(opts.since), parse_time(opts.until), filters))
        return 0
    from pyctr.engine.client.streams import json_messages

    from . import listformat
    from .gotemplate import Struct

    fmt = listformat.resolve(opts.format, "").strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    template = listformat.template(fmt, "Error parsing format", 64)
    with ctx.client.events(parse_time(opts.since), parse_time(opts.until), filters, modern=True) as resp:
        for event in json_messages(resp.chunks()):
            ctx.out(listformat.execute(template, go_event(event, Struct)) + "\n")
    return 0


class _EventNames:
    # events.Message's fields in its order, and their JSON keys
    FIELDS = (("Status", "status"), ("ID", "id"), ("From", "from"), ("Type", "Type"), ("Action", "Action"),
              ("Actor", "Actor"), ("Scope", "scope"), ("Time", "time"), ("TimeNano", "timeNano"))


def go_event(event: dict, struct: type) -> dict:
    """An event as the docker CLI's templates see it: Go's field names and order."""
    class Message(struct):
        json_names = dict(_EventNames.FIELDS)

    actor = event.get("Actor") or {}
    made = Message()
    for name, key in _EventNames.FIELDS:
        if key == "Actor":
            made[name] = struct(ID=actor.get("ID", ""), Attributes=dict(actor.get("Attributes") or {}))
        elif key in ("status", "id", "from") and key not in event:
            continue  # omitempty, as in docker's JSON
        else:
            made[name] = event.get(key, 0 if key in ("time", "timeNano") else "")
    return made


@command("inspect", "CONTAINER|IMAGE [CONTAINER|IMAGE...]",
         "Return low-level information on a container or image",
         Flag("-f", "--format", default="", help="Format the output using the given go template."),
         min_args=1, max_args=None)
def inspect(ctx: Context, opts, args) -> int:
    template = None
    if opts.format:
        from .gotemplate import Template, TemplateError

        try:
            template = Template(opts.format)
        except TemplateError as exc:
            raise CLIError(f"Template parsing error: {exc}", status=64) from None
    found = []
    status = 0
    for name in args:
        try:
            obj = _inspect_one(ctx, name)
        except CLIError as exc:
            ctx.err(exc.message + "\n")
            status = 1
            continue
        if template is None:
            found.append(obj)
            continue
        from .gotemplate import ExecError

        try:
            ctx.out(template.execute(obj) + "\n")
        except ExecError as exc:
            ctx.err(f"{exc}\n")
            status = 1
    if template is None:
        import json

        ctx.out(json.dumps(found, indent=4, ensure_ascii=False) + "\n")
    if status:
        raise StatusExit(status)
    return 0


def _inspect_one(ctx: Context, name: str) -> dict:
    """A container by that name, else an image (as docker tried them)."""
    from pyctr.engine.client.errors import APIError

    try:
        return ctx.client.inspect_container(name)
    except APIError as exc:
        if exc.status != 404:
            raise
    try:
        return ctx.client.inspect_image(name)
    except APIError as exc:
        if exc.status != 404:
            raise
    raise CLIError(f"Error: No such image or container: {name}")

