"""`pyctr container ...` and `pyctr image ...`: docker's management-command forms of
the top-level verbs (`container ls` = `ps`, `image rm` = `rmi`), the same Command
of the one grammar under the group's name, plus the verbs that exist only there
(`container prune`, `image prune`, and the typed `inspect`s)."""

from __future__ import annotations

from pyctr.engine.client.frontend.flags import Flag

from . import listformat, prune
from .cmd_containers import parse_filters
from .context import Context
from .management import group

CONTAINER = group("container", "Manage containers")
IMAGE = group("image", "Manage images")

for _verb in ("attach", "commit", "cp", "create", "diff", "exec", "export", "kill", "logs", "pause", "port",
              "rename", "restart", "run", "start", "stats", "stop", "top", "unpause", "update", "wait"):
    CONTAINER.reuse(_verb, _verb)
CONTAINER.reuse("ls", "ps", "list", "ps")
CONTAINER.reuse("rm", "rm", "remove")

for _verb in ("build", "history", "import", "load", "pull", "push", "save", "tag"):
    IMAGE.reuse(_verb, _verb)
IMAGE.reuse("ls", "images", "list")
IMAGE.reuse("rm", "rmi", "remove")

INSPECT_FORMAT_HELP = ("Format output using a custom template:\n"
                       "'json':             Print in JSON format\n"
                       "'TEMPLATE':         Print output using the given Go template")


def _inspect(ctx: Context, kind: str, names: list[str], fmt: str, size: bool = False) -> int:
    """docker's typed inspect: what was found (JSON, or the template per object), then
    each failure, exit 1 if any."""
    from pyctr.engine.client.errors import APIError

    from .gotemplate import Struct

    found, errors = [], []
    for name in names:
        try:
            found.append(ctx.client.inspect_modern(kind, name, size=size, object_hook=Struct))
        except APIError as exc:
            errors.append(exc)
    listformat.show_inspected(ctx, found, errors, fmt)
    return 0


@CONTAINER.verb("inspect", "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers",
                Flag("-f", "--format", default="", help=INSPECT_FORMAT_HELP),
                Flag("-s", "--size", default=False, help="Display total file sizes"),
                min_args=1, max_args=None)
def container_inspect(ctx: Context, opts, args) -> int:
    return _inspect(ctx, "containers", args, opts.format, opts.size)


@IMAGE.verb("inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
            Flag("-f", "--format", default="", help=INSPECT_FORMAT_HELP), min_args=1, max_args=None)
def image_inspect(ctx: Context, opts, args) -> int:
    return _inspect(ctx, "images", args, opts.format)


def _report(ctx: Context, space: int, text: str) -> None:
    total = f"Total reclaimed space: {prune.go_size(space)}\n"
    ctx.out(f"{text}\n{total}" if text else total)


@CONTAINER.verb("prune", "[OPTIONS]", "Remove all stopped containers",
                Flag("--filter", default=[], help='Provide filter values (e.g. "until=<timestamp>")'),
                Flag("-f", "--force", default=False, help="Do not prompt for confirmation"))
def container_prune(ctx: Context, opts, args) -> int:
    if not opts.force and not prune.confirm(ctx, "WARNING! This will remove all stopped containers."):
        return 0
    _report(ctx, *prune.containers(ctx, parse_filters(opts.filter)))
    return 0


@IMAGE.verb("prune", "[OPTIONS]", "Remove unused images",
            Flag("-a", "--all", default=False, help="Remove all unused images, not just dangling ones"),
            Flag("--filter", default=[], help='Provide filter values (e.g. "until=<timestamp>")'),
            Flag("-f", "--force", default=False, help="Do not prompt for confirmation"))
def image_prune(ctx: Context, opts, args) -> int:
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if opts.all else "WARNING! This will remove all dangling images.")
    if not opts.force and not prune.confirm(ctx, warning):
        return 0
    _report(ctx, *prune.images(ctx, parse_filters(opts.filter), opts.all))
    return 0
