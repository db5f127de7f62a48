"""`build`: unpack the context the client sent, read its Dockerfile, run the builder.

Everything the build needs lives in one private scratch directory under the data
root, removed when the build ends however it ends."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from ..builder import context
from ..builder.evaluator import BuildError, Builder
from ..builder.parser import DockerfileError, parse, stages
from ..api.messages import ProgressMessage
from ..jobs import Job
from .args import BuildArgs
from .builder_backend import DaemonBuilderBackend

if TYPE_CHECKING:
    from .daemon import Daemon

MAX_DOCKERFILE = 4 << 20


_swept: set[str] = set()


def scratch_root(daemon: Daemon) -> str:
    """`<data-root>/tmp`, for build contexts, save spools and load scratch. What is there
    when this daemon first uses it was left by one that died mid-build: removed then."""
    path = daemon.config.path("tmp")
    if path not in _swept:
        _swept.add(path)
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, 0o700, exist_ok=True)
    return path


async def image_build(daemon: Daemon, job: Job[BuildArgs]) -> str:
    args = job.args

    async def emit(text: str) -> None:
        await job.write(ProgressMessage(stream=text).encode())

    scratch = tempfile.mkdtemp(prefix="build-", dir=scratch_root(daemon))
    try:
        context_dir = os.path.join(scratch, "context")
        downloads = os.path.join(scratch, "downloads")
        os.mkdir(context_dir)
        os.mkdir(downloads)
        if args.remote:
            await _remote_context(args.remote, context_dir, downloads)
        elif args.body is not None:
            await asyncio.to_thread(context.extract, args.body, context_dir)
        else:
            raise BuildError("no build context: send a tar as the request body or give remote=")
        name = os.path.normpath(args.dockerfile or "Dockerfile")
        text = await asyncio.to_thread(_read_dockerfile, context_dir, name)
        try:
            dockerfile = stages(parse(text))
        except DockerfileError as exc:
            raise BuildError(str(exc)) from None
        # The Dockerfile and .dockerignore go too when .dockerignore lists them (as the
        # `-f -` forms of the CLI do with the Dockerfile they add): read, never copied.
        await asyncio.to_thread(context.apply_ignore, context_dir)
        builder = Builder(DaemonBuilderBackend(daemon), context_dir, downloads, args.options, emit, job.write)
        async with daemon.graph.journal("build"):   # a crash mid-build: its steps are undone
            return await builder.build(dockerfile)
    except context.ContextError as exc:
        raise BuildError(str(exc)) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def _read_dockerfile(root: str, name: str) -> str:
    path = context.resolve(root, name, f"Dockerfile {name}")
    if not os.path.isfile(path):
        raise BuildError(f"Cannot build a context without a Dockerfile: {name} not found in it")
    if os.path.getsize(path) > MAX_DOCKERFILE:
        raise BuildError(f"{name} is larger than {MAX_DOCKERFILE >> 20} MiB: not a Dockerfile?")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BuildError(f"{name} is not UTF-8 text: {exc}") from None


async def _remote_context(url: str, context_dir: str, downloads: str) -> None:
    """`remote=`: the URL of a tarball context or of a bare Dockerfile, fetched by pyctrd
    (from where it runs: what it cannot reach fails with the fetch's error). Git
    repositories are refused: this pyctrd does not clone."""
    if (url.startswith(("git://", "git@", "github.com/")) or url.endswith(".git")
            or ".git#" in url):
        raise BuildError(f"remote={url}: git build contexts are not supported by this pyctrd "
                         "(it does not clone repositories): send the context as a tar instead")
    if not url.startswith(("http://", "https://")):
        raise BuildError(f"remote={url}: not a URL this pyctrd can fetch: give an http(s) URL "
                         "of a tarball or a Dockerfile, or send the context as a tar")
    from ..builder.copier import is_archive
    from ..builder.evaluator import download
    source = await download(url, downloads)
    if await asyncio.to_thread(is_archive, source.path):
        with open(source.path, "rb") as f:
            await asyncio.to_thread(context.extract, f, context_dir)
    else:
        shutil.copyfile(source.path, os.path.join(context_dir, "Dockerfile"))
