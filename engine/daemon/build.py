"""`build`: unpack the context the client sent, read its Dockerfile, run the builder.

Everything the build needs lives in one private scratch directory under the data
root, removed when the build ends however it ends."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from ..builder import context
from ..builder.evaluator import BuildError, Builder, BuildOptions
from ..builder.parser import DockerfileError, parse
from ..api.messages import ProgressMessage
from ..jobs import Job, JobArgs
from .builder_backend import DaemonBuilderBackend

if TYPE_CHECKING:
    from .daemon import Daemon

MAX_DOCKERFILE = 4 << 20


@dataclass
class BuildArgs(JobArgs[str]):
    job: ClassVar[str] = "image_build"

    body: BinaryIO | None                    # the context tar (a blocking reader)
    options: BuildOptions = field(default_factory=BuildOptions)
    dockerfile: str = "Dockerfile"           # its path inside the context
    remote: str = ""                         # a URL instead of a body


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
            instructions = parse(text)
        except DockerfileError as exc:
            raise BuildError(str(exc)) from None
        await asyncio.to_thread(context.apply_ignore, context_dir, {name})
        builder = Builder(DaemonBuilderBackend(daemon), context_dir, downloads, args.options, emit, job.write)
        return await builder.build(instructions)
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
    """`remote=`: a URL of a tarball context or of a bare Dockerfile (git is not supported)."""
    if url.startswith(("git://", "git@", "github.com/")) or url.endswith(".git"):
        raise BuildError(f"git build contexts are not supported by this pyctrd: {url}")
    if not url.startswith(("http://", "https://")):
        raise BuildError(f"invalid remote context {url!r}: give an http(s) URL")
    from ..builder.copier import is_archive
    from ..builder.evaluator import download
    source = await download(url, downloads)
    if await asyncio.to_thread(is_archive, source.path):
        with open(source.path, "rb") as f:
            await asyncio.to_thread(context.extract, f, context_dir)
    else:
        shutil.copyfile(source.path, os.path.join(context_dir, "Dockerfile"))
