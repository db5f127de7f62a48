"""Image commands: images, history, tag, rmi, import, save, load, build."""

from __future__ import annotations

import fnmatch
import io
import os
import tempfile

from pyctr.engine.client.errors import StreamError

from . import render
from .cmd_containers import parse_filters, write_stream
from .commands import command
from .context import CLIError, Context, StatusExit
from pyctr.engine.client.frontend.flags import Flag
from .progress import show_stream


@command("images", "[OPTIONS] [NAME]", "List images",
         Flag("-a", "--all", default=False, help="Show all images (by default filter out the intermediate image layers)"),
         Flag("--digests", default=False, help="Show digests"),
         Flag("-f", "--filter", default=[], help="Provide filter values (i.e. 'dangling=true')"),
         Flag("--format", default="", help="Format output using a custom template:\n"
              "'table', 'table TEMPLATE', 'json' or a Go template (docker 28's fields)"),
         Flag("--no-trunc", default=False, help="Don't truncate output"),
         Flag("-q", "--quiet", default=False, help="Only show numeric IDs"),
         Flag("-t", "--tree", default=False, help="Output graph in tree format"),
         max_args=1)
def images(ctx: Context, opts, args) -> int:
    name = args[0] if args else ""
    filters = parse_filters(opts.filter)
    if opts.format and not opts.tree:
        return _images_formatted(ctx, opts, name, filters)
    if opts.tree:
        found = ctx.client.images(all=True, filters=filters)
        ctx.out(render.images_tree(found, no_trunc=opts.no_trunc, start=name))
        return 0
    found = ctx.client.images(all=opts.all, filters=filters, name=name, digests=opts.digests)
    if name:
        # `images NAME` lists one repository (a glob, as Docker's server matched it);
        # filtered here too so it works whether or not the daemon knows `filter`.
        for image in found:
            image.repo_tags = [t for t in image.repo_tags
                               if fnmatch.fnmatchcase(render.split_repo_tag(t)[0], name)]
        found = [i for i in found if i.repo_tags]
    ctx.out(render.images_table(found, no_trunc=opts.no_trunc, quiet=opts.quiet,
                                digests=opts.digests))
    return 0


def _images_formatted(ctx: Context, opts, name: str, filters: dict) -> int:
    """`images --format`: the docker CLI 28's rows and fields (a repository argument is
    its `reference` filter, as docker 28 sends it)."""
    from . import listformat, listviews

    fmt = listformat.resolve(opts.format, listviews.IMAGE_TABLE, opts.quiet)
    if name:
        filters = {**filters, "reference": [*filters.get("reference", []), name]}
    found = ctx.client.list_modern("images", {"all": opts.all, "filters": filters})
    digests = opts.digests or ".Digest" in fmt
    rows = [row for image in found for row in listviews.image_rows(image, trunc=not opts.no_trunc, digests=digests)]
    ctx.out(listformat.render(rows, fmt, listviews.IMAGE_HEADERS))
    return 0


@command("history", "[OPTIONS] IMAGE", "Show the history of an image",
         Flag("--no-trunc", default=False, help="Don't truncate output"),
         Flag("-q", "--quiet", default=False, help="Only show numeric IDs"),
         min_args=1, max_args=1)
def history(ctx: Context, opts, args) -> int:
    ctx.out(render.history_table(ctx.client.history(args[0]), no_trunc=opts.no_trunc,
                                 quiet=opts.quiet))
    return 0


@command("tag", "[OPTIONS] IMAGE[:TAG] [REGISTRYHOST/][USERNAME/]NAME[:TAG]",
         "Tag an image into a repository",
         Flag("-f", "--force", default=False, help="Force"), min_args=2, max_args=2)
def tag(ctx: Context, opts, args) -> int:
    repo, tag_name = render.split_repo_tag(args[1])
    ctx.client.tag(args[0], repo, tag_name, force=opts.force)
    return 0


@command("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
         Flag("-f", "--force", default=False, help="Force removal of the image"),
         Flag("--no-prune", default=False, help="Do not delete untagged parents"),
         min_args=1, max_args=None)
def rmi(ctx: Context, opts, args) -> int:
    def remove(name: str) -> None:
        for item in ctx.client.remove_image(name, force=opts.force, noprune=opts.no_prune):
            ctx.out(f"Deleted: {item.deleted}\n" if item.deleted else f"Untagged: {item.untagged}\n")

    return ctx.for_each(args, remove, echo=False)


@command("import", "URL|- [REPOSITORY[:TAG]]",
         "Create an empty filesystem image and import the contents of the tarball "
         "(.tar, .tar.gz, .tgz, .bzip, .tar.xz, .txz) into it, then optionally tag it.",
         min_args=1, max_args=2,
         summary="Create a new filesystem image from the contents of a tarball")
def import_(ctx: Context, opts, args) -> int:
    src = args[0]
    repo, tag_name = render.split_repo_tag(args[1]) if len(args) > 1 else ("", "")
    if src == "-":
        resp = ctx.client.import_image("-", repo, tag_name, body=ctx.stdin_bytes)
    elif "://" in src:
        resp = ctx.client.import_image(src, repo, tag_name)
    else:
        # a local file: stream it as if it came on stdin
        try:
            f = open(src, "rb")
        except OSError as exc:
            raise CLIError(f"open {src}: {exc.strerror or exc}") from None
        with f:
            resp = ctx.client.import_image("-", repo, tag_name, body=f)
    show_stream(ctx, resp)
    return 0


@command("save", "IMAGE", "Save an image to a tar archive (streamed to STDOUT by default)",
         Flag("-o", "--output", default="", help="Write to a file, instead of STDOUT"),
         min_args=1, max_args=1)
def save(ctx: Context, opts, args) -> int:
    write_stream(ctx, ctx.client.get_image(args[0]), opts.output, "an archive")
    return 0


@command("load", "", "Load an image from a tar archive on STDIN",
         Flag("-i", "--input", default="", help="Read from a tar archive file, instead of STDIN"))
def load(ctx: Context, opts, args) -> int:
    if opts.input:
        try:
            f = open(opts.input, "rb")
        except OSError as exc:
            raise CLIError(f"open {opts.input}: {exc.strerror or exc}") from None
        with f:
            resp = ctx.client.load_image(f)
    else:
        resp = ctx.client.load_image(ctx.stdin_bytes)
    show_stream(ctx, resp)
    return 0


# --- build --------------------------------------------------------------------

def _is_archive(head: bytes) -> bool:
    """gzip, bzip2, xz, or an uncompressed tar (ustar magic at offset 257)."""
    return (head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
            or head[257:262] == b"ustar")


def tar_context(root: str, out, dockerfile: str = "Dockerfile",
                extra: tuple[str, bytes] | None = None) -> None:
    """Tar the build context at `root` into `out`, leaving out what .dockerignore names
    (as Docker reads it: engine/dockerignore.py), but for the Dockerfile and the
    .dockerignore, which the build reads; `extra`: one more file (a Dockerfile from
    outside the context, under its own name)."""
    import tarfile

    from pyctr.engine import dockerignore

    if extra is None and not os.path.isfile(os.path.join(root, dockerfile)):
        raise CLIError(f"Cannot locate specified Dockerfile: {dockerfile}")
    ignore_text = None
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
            ignore_text = f.read()
        patterns = dockerignore.parse(ignore_text)
    except FileNotFoundError:
        patterns = []
    except dockerignore.IgnoreError as exc:
        raise CLIError(str(exc)) from None
    always = {os.path.normpath(dockerfile), ".dockerignore"}

    def excluded(rel: str) -> bool:
        return rel not in always and dockerignore.ignored(rel, patterns)

    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            kept = []
            for d in sorted(dirnames):
                rel = os.path.normpath(os.path.join(rel_dir, d))
                if excluded(rel) and not any(p.exception for p in patterns):
                    continue
                kept.append(d)
                if not excluded(rel):
                    tar.add(os.path.join(dirpath, d), arcname=rel, recursive=False)
            dirnames[:] = kept
            for name in sorted(filenames):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if excluded(rel) or (extra is not None and rel == ".dockerignore"):
                    continue
                try:
                    tar.add(os.path.join(dirpath, name), arcname=rel, recursive=False)
                except PermissionError as exc:
                    raise CLIError(f"Error checking context is accessible: '{exc}'. "
                                   "Please check permissions and try again.") from None
        if extra is not None:
            # ... and named in the .dockerignore sent, so that no COPY sees it (as docker)
            ignore = ((ignore_text or "").rstrip("\n") + f"\n{extra[0]}\n").lstrip("\n")
            for name, data in ((extra[0], extra[1]), (".dockerignore", ignore.encode())):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))


def _key_values(items: list[str], from_env: bool) -> dict[str, str]:
    """--build-arg / --label K=V; a bare K: its value from the environment (build args,
    omitted when unset) or empty (labels), as docker."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
        elif not from_env:
            out[key] = ""
        elif key in os.environ:
            out[key] = os.environ[key]
    return out


@command("build", "[OPTIONS] PATH | URL | -", "Build a new image from the source code at PATH",
         Flag("--build-arg", default=[], help="Set build-time variables"),
         Flag("-f", "--file", default="", help="Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
         Flag("--force-rm", default=False, help="Always remove intermediate containers"),
         Flag("--label", default=[], help="Set metadata for an image"),
         Flag("--no-cache", default=False, help="Do not use cache when building the image"),
         Flag("--pull", default=False, help="Always attempt to pull a newer version of the image"),
         Flag("-q", "--quiet", default=False, help="Suppress the build output and print image ID on success"),
         Flag("--rm", default=True, help="Remove intermediate containers after a successful build"),
         Flag("-t", "--tag", default=[], help="Name and optionally a tag in the 'name:tag' format"),
         Flag("--target", default="", help="Set the target build stage to build."),
         min_args=1, max_args=1)
def build(ctx: Context, opts, args) -> int:
    import json
    import secrets
    import tarfile

    source = args[0]
    params = {"t": opts.tag or None, "q": True if opts.quiet else None,
              "nocache": True if opts.no_cache else None, "rm": opts.rm,
              "forcerm": True if opts.force_rm else None, "pull": True if opts.pull else None,
              "target": opts.target or None,
              "buildargs": json.dumps(_key_values(opts.build_arg, True)) if opts.build_arg else None,
              "labels": json.dumps(_key_values(opts.label, False)) if opts.label else None}
    dockerfile, extra = "Dockerfile", None
    if opts.file and source not in ("-",) and not source.startswith(("http://", "https://", "git://", "github.com/")):
        path = os.path.abspath(opts.file)
        if os.path.commonpath([path, os.path.abspath(source)]) == os.path.abspath(source):
            dockerfile = os.path.relpath(path, os.path.abspath(source))
        else:   # outside the context: sent in it under a name of its own, as docker does
            try:
                with open(path, "rb") as f:
                    extra = (f".dockerfile.{secrets.token_hex(10)}", f.read())
            except OSError as exc:
                raise CLIError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: {exc}") from None
            dockerfile = extra[0]
    elif opts.file:
        dockerfile = opts.file
    params["dockerfile"] = dockerfile if dockerfile != "Dockerfile" else None
    with tempfile.TemporaryFile() as context:
        if source == "-":
            data = ctx.stdin_bytes.read()
            if _is_archive(data[:512]):
                context.write(data)
            else:  # a bare Dockerfile: wrap it as the whole context
                with tarfile.open(fileobj=context, mode="w") as tar:
                    info = tarfile.TarInfo("Dockerfile")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        elif source.startswith(("http://", "https://", "git://", "github.com/")):
            params["remote"] = source
            context = None  # type: ignore[assignment]
        else:
            if not os.path.isdir(source):
                raise CLIError(f"stat {source}: no such file or directory")
            tar_context(source, context, dockerfile, extra)
        if context is not None:
            size = context.tell()
            context.seek(0)
            ctx.err(f"Sending build context to pyctr daemon {render.human_size(size)}\n")
            resp = ctx.client.build(context, params)
        else:
            resp = ctx.client.build(None, params, headers={"Content-Type": "text/plain"})
        try:
            show_stream(ctx, resp)
        except StreamError as exc:
            # as docker: a failed step's exit code becomes ours (1 if none)
            ctx.err(exc.message.rstrip("\n") + "\n")
            raise StatusExit(exc.code if 0 < exc.code < 256 else 1) from None
    return 0
