"""`pyctr volume create|ls|inspect|rm`: named volumes, with the docker CLI's flags,
output and exit codes (its management-command form: `volume` then the verb)."""

from __future__ import annotations

import json
import re

from pyctr.engine.client.frontend.flags import Command, Flag
from pyctr.engine.client.frontend.text import tabwrite

from .cmd_containers import parse_filters
from .context import CLIError, Context, StatusExit
from .management import group

VOLUME = group("volume", "Manage volumes", unknown_usage="volume COMMAND")

HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS"}
DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"


def _natural(name: str) -> list:
    # docker sorts volumes with sortorder.NaturalLess: "v2" before "v10"
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _template(fmt: str):
    from .gotemplate import Template, TemplateError

    try:
        return Template(fmt.replace("\\t", "\t").replace("\\n", "\n"))
    except TemplateError as exc:
        raise CLIError(f"template parsing error: {exc}", status=64) from None


def _ls(ctx: Context, opts, args) -> int:
    answer = ctx.client.volumes(parse_filters(opts.filter))
    volumes = sorted(answer.get("Volumes") or [], key=lambda v: _natural(str(v.get("Name", ""))))
    fmt = "{{.Name}}" if opts.quiet else (opts.format or DEFAULT_TABLE)
    if fmt == "table":
        fmt = DEFAULT_TABLE
    if fmt == "json":
        fmt = "{{json .}}"
    from .listformat import label_of

    rows = [{**v, "Labels": ",".join(f"{k}={val}" for k, val in (v.get("Labels") or {}).items()),
             "Label": label_of(v.get("Labels"))} if fmt != "{{json .}}" else v for v in volumes]
    if fmt.startswith("table"):
        body = _template(fmt[len("table"):].lstrip())
        from .listformat import _Headers

        lines = [body.execute(_Headers(HEADERS))] + [body.execute(r) for r in rows]
        ctx.out(tabwrite("\n".join(lines) + "\n", minwidth=10, padding=3))
    else:
        one = _template(fmt)
        ctx.out("".join(one.execute(r) + "\n" for r in rows))
    for warning in answer.get("Warnings") or []:
        ctx.err(f"{warning}\n")
    return 0


def _create(ctx: Context, opts, args) -> int:
    if args and opts.name and args[0] != opts.name:
        raise CLIError("conflicting options: cannot specify a volume-name through both --name and as a "
                       "positional arg")
    options = {}
    for opt in opts.opt:
        key, sep, value = opt.partition("=")
        if not sep:
            raise CLIError(f'invalid argument "{opt}" for "-o, --opt" flag: invalid key value pair '
                           f'format in driver options', status=125)
        options[key] = value
    labels = dict(label.partition("=")[::2] for label in opts.label)
    body = {"Name": args[0] if args else opts.name, "Driver": opts.driver,
            "DriverOpts": options, "Labels": labels}
    ctx.out(f"{ctx.client.create_volume(body).get('Name', '')}\n")
    return 0


def _inspect(ctx: Context, opts, args) -> int:
    from pyctr.engine.client.errors import APIError

    template = _template(opts.format) if opts.format else None
    found, failed = [], False
    for name in args:
        try:
            found.append(ctx.client.inspect_volume(name))
        except APIError as exc:  # each reported, as docker's inspect does
            ctx.report(exc)
            failed = True
    if template is None:
        ctx.out(json.dumps(found, indent=4, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        ctx.out("".join(template.execute(v) + "\n" for v in found))
    if failed:
        raise StatusExit(1)
    return 0


def _rm(ctx: Context, opts, args) -> int:
    return ctx.for_each(args, lambda name: ctx.client.remove_volume(name, force=opts.force))


VERBS = {
    "create": (Command("volume create", "[OPTIONS] [VOLUME]", "Create a volume", [
        Flag("-d", "--driver", default="local", help="Specify volume driver name"),
        Flag("--label", default=[], help="Set metadata for a volume"),
        Flag("--name", default="", help="Specify volume name"),
        Flag("-o", "--opt", default=[], help="Set driver specific options")], max_args=1), _create),
    "inspect": (Command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]",
                        "Display detailed information on one or more volumes", [
        Flag("-f", "--format", default="", help="Format output using a custom template")],
        min_args=1, max_args=None), _inspect),
    "ls": (Command("volume ls", "[OPTIONS]", "List volumes", [
        Flag("-f", "--filter", default=[], help="Provide filter values (e.g. \"dangling=true\")"),
        Flag("--format", default="", help="Format output using a custom template:\n'table', 'json' or a Go template"),
        Flag("-q", "--quiet", default=False, help="Only display volume names")]), _ls),
    "rm": (Command("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", [
        Flag("-f", "--force", default=False, help="Force the removal of one or more volumes")],
        min_args=1, max_args=None), _rm),
}
VOLUME_WARNING = "WARNING! This will remove anonymous local volumes not used by at least one container."
OLD_VOLUME_WARNING = "WARNING! This will remove all local volumes not used by at least one container."


def _prune(ctx: Context, opts, args) -> int:
    from . import prune

    if opts.all:
        # `all` (prune named volumes too) is API 1.42's; at 1.41 every unused volume goes
        raise CLIError('"--all" requires API version 1.42, but the Docker daemon API version is 1.41')
    if not opts.force and not prune.confirm(ctx, OLD_VOLUME_WARNING):
        return 0
    space, text = prune.volumes(ctx, parse_filters(opts.filter))
    ctx.out(f"{text}\nTotal reclaimed space: {prune.go_size(space)}\n" if text else
            f"Total reclaimed space: {prune.go_size(space)}\n")
    return 0


VERBS["prune"] = (Command("volume prune", "[OPTIONS]", "Remove unused local volumes", [
    Flag("-a", "--all", default=False, help="Remove all unused volumes, not just anonymous ones (API 1.42+)"),
    Flag("--filter", default=[], help='Provide filter values (e.g. "label=<label>")'),
    Flag("-f", "--force", default=False, help="Do not prompt for confirmation")]), _prune)
VERBS["list"] = VERBS["ls"]
VERBS["remove"] = VERBS["rm"]


for _verb, (_cmd, _handler) in VERBS.items():
    _cmd.handler = _handler
    if _verb not in VOLUME.verbs:
        VOLUME.add(_verb, _cmd, *[alias for alias, (c, _) in VERBS.items() if c is _cmd and alias != _verb])
