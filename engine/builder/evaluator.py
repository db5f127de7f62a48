"""The evaluator: runs a parsed Dockerfile step by step, as Docker 1.2's builder did.

Every step after FROM yields an image whose parent is the previous step's image:
RUN runs the command in a real container and commits its changes; ADD/COPY copy
into a (not started) container's filesystem and commit that; the other
instructions change only the config and commit an empty layer. Before doing a
step's work the cache is asked (cache.py): a child of the current image made by
the same instruction from the same config (and, for ADD/COPY, the same content)
is reused.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import logging
import os
import posixpath
import urllib.parse
from dataclasses import dataclass
from typing import Awaitable, Callable

from ..errors import EngineError, NotFound
from ..graph import reference
from ..graph.graph import new_id, now_rfc3339
from ..graph.image_record import ImageRecord
from ..api.config import ContainerConfig
from . import cache, context
from .backend import Backend
from .config_steps import SHELL, BuildState, apply_config, go_list
from .copier import copy_source
from .parser import DockerfileError, Instruction, parse_line, substitute

log = logging.getLogger("pyctr.builder")

Emit = Callable[[str], Awaitable[None]]


class BuildError(EngineError):
    """A step failed; `code` is a failed RUN's exit status (0 otherwise)."""
    status = 500

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BuildOptions:
    tag: str = ""            # repo[:tag] to give the result
    quiet: bool = False      # no RUN output
    nocache: bool = False
    rm: bool = True          # remove intermediate containers after each successful step
    forcerm: bool = False    # ... and after a failed one too


async def _discard(data: bytes) -> None:
    return None


# --- the builder -------------------------------------------------------------------------

class Builder:
    def __init__(self, backend: Backend, context_dir: str, scratch: str, options: BuildOptions,
                 emit: Emit, raw: Callable[[bytes], Awaitable[None]] | None = None) -> None:
        self.backend = backend
        self.raw = raw or _discard
        self.context_dir = context_dir
        self.scratch = scratch          # a private directory for downloads
        self.options = options
        self.emit = emit
        self.state = BuildState()
        self.tmp_containers: list[str] = []

    async def build(self, instructions: list[Instruction]) -> str:
        if self.options.tag:
            repo, tag = reference.split_tag(self.options.tag)
            reference.validate_repository(reference.normalize(repo))
            reference.validate_tag(tag or reference.DEFAULT_TAG)
        try:
            for step, inst in enumerate(instructions):
                await self.emit(f"Step {step} : {inst.text()}\n")
                try:
                    await self.dispatch(inst)
                except BuildError:
                    raise
                except EngineError as exc:  # NotFound, BadRequest, ...: the step names itself
                    raise BuildError(exc.message) from None
                except (context.ContextError, DockerfileError) as exc:
                    raise BuildError(str(exc)) from None
                await self.emit(f" ---> {self.state.image[:12]}\n")
                if self.options.rm:
                    await self.remove_containers()
        except BaseException as exc:
            # Docker keeps a failed step's container for inspection unless --force-rm; a
            # build that broke off for another reason (the client left) cleans up.
            if self.options.forcerm or not isinstance(exc, BuildError):
                await self.remove_containers()
            raise
        if not self.state.image:
            raise BuildError("No image was generated. This may be because the Dockerfile does not, like, do anything.")
        if self.options.tag:
            repo, tag = reference.split_tag(self.options.tag)
            self.backend.graph.tag(self.state.image, repo, tag, force=True)
        await self.emit(f"Successfully built {self.state.image[:12]}\n")
        return self.state.image

    async def remove_containers(self) -> None:
        while self.tmp_containers:
            cid = self.tmp_containers.pop(0)
            if await self.backend.remove_container(cid):
                await self.emit(f"Removing intermediate container {cid[:12]}\n")

    # --- dispatch ----------------------------------------------------------------------

    async def dispatch(self, inst: Instruction) -> None:
        cmd = inst.command
        if cmd != "FROM" and not self.state.image:
            raise DockerfileError(inst.line, f"Please provide a source image with `FROM` prior to {cmd}")
        if cmd == "FROM":
            await self.do_from(inst)
        elif cmd == "MAINTAINER":
            self.state.maintainer = inst.args[0]
            await self.commit_config(f"MAINTAINER {inst.args[0]}")
        elif cmd == "RUN":
            await self.do_run(inst)
        elif cmd in ("ADD", "COPY"):
            await self.do_add(inst)
        else:
            text = apply_config(self.state, inst)
            await self.commit_config(text)

    async def do_from(self, inst: Instruction) -> None:
        name = inst.args[0]
        try:
            image = self.backend.graph.resolve(name)
        except NotFound:
            await self.pull(name)  # as Docker 1.2: a missing base image is pulled
            image = self.backend.graph.resolve(name)
        self.state = BuildState(image=image.id, config=copy.deepcopy(image.config or ContainerConfig()))
        self.state.config.hostname = ""
        self.state.config.image = name
        triggers = self.state.config.on_build or []
        self.state.config.on_build = []
        if triggers:
            word = "trigger" if len(triggers) == 1 else "triggers"
            await self.emit(f"# Executing {len(triggers)} build {word}\n")
        for number, text in enumerate(triggers):
            try:
                trigger = parse_line(inst.line, text)
            except DockerfileError as exc:
                raise BuildError(f"ONBUILD trigger {text!r} of {name}: {exc.reason}") from None
            if trigger.command in ("ONBUILD", "FROM", "MAINTAINER"):
                raise BuildError(f"{trigger.command} isn't allowed as an ONBUILD trigger")
            await self.emit(f"Trigger {number}, {trigger.text()}\n")
            await self.dispatch(trigger)

    async def pull(self, name: str) -> None:
        repo, tag = reference.split_tag(name)
        if "@" in name:
            repo, _, tag = name.partition("@")
        try:
            await self.backend.pull_image(repo, tag or reference.DEFAULT_TAG, self)
        except EngineError as exc:
            raise BuildError(f"No such image: {name}, and pulling it failed: {exc.message}") from None

    async def write(self, data: bytes) -> None:
        """The pull's progress messages go into the build's stream as they are."""
        await self.raw(data)

    # --- committing --------------------------------------------------------------------

    def _container_config(self, cmd: list[str]) -> ContainerConfig:
        config = copy.deepcopy(self.state.config)
        config.cmd = cmd
        return config

    async def _cached(self, container_config: ContainerConfig) -> bool:
        if self.options.nocache:
            return False
        hit = cache.lookup(self.backend.graph, self.state.image, container_config)
        if hit is None:
            return False
        await self.emit(" ---> Using cache\n")
        self.state.image = hit
        return True

    def _record(self, container_config: ContainerConfig, container_id: str = "") -> ImageRecord:
        from .. import __version__
        return ImageRecord(id=new_id(), parent=self.state.image, created=now_rfc3339(),
                           container=container_id, container_config=container_config,
                           docker_version=__version__, author=self.state.maintainer,
                           config=copy.deepcopy(self.state.config))

    async def commit_config(self, text: str) -> None:
        """A step that changes only the config: an empty layer, as 1.2's `#(nop)` commits."""
        container_config = self._container_config(SHELL + [f"#(nop) {text}"])
        if await self._cached(container_config):
            return
        record = await self.backend.graph.register(self._record(container_config), None)
        self.state.image = record.id

    async def _commit_container(self, container_id: str, container_config: ContainerConfig) -> None:
        self.state.image = await self.backend.commit_container(
            container_id, config=copy.deepcopy(self.state.config), container_config=container_config,
            author=self.state.maintainer)

    async def _create(self, cmd: list[str]) -> str:
        config = self._container_config(cmd)
        config.image = self.state.image
        config.entrypoint = []  # the step's command runs as given, not through ENTRYPOINT
        container_id = await self.backend.create_container(config)
        self.tmp_containers.append(container_id)
        return container_id

    # --- RUN ---------------------------------------------------------------------------

    async def do_run(self, inst: Instruction) -> None:
        cmd = list(inst.args) if inst.json_form else SHELL + inst.args
        container_config = self._container_config(cmd)
        if await self._cached(container_config):
            return
        container_id = await self._create(cmd)
        await self.emit(f" ---> Running in {container_id[:12]}\n")
        code = await self.backend.run_container(container_id, self._step_output)
        if code != 0:
            raise BuildError(f"The command {go_list(cmd)} returned a non-zero code: {code}", code)
        await self._commit_container(container_id, container_config)

    async def _step_output(self, stream: str, data: bytes) -> None:
        if not self.options.quiet:
            await self.emit(data.decode("utf-8", "replace"))

    # --- ADD / COPY --------------------------------------------------------------------

    async def do_add(self, inst: Instruction) -> None:
        env = self.state.config.env or []
        words = [substitute(w, env) for w in inst.args]
        names, dest = words[:-1], words[-1]
        if not dest.startswith("/"):
            dest = posixpath.join(self.state.config.working_dir or "/", dest) + (
                "/" if dest.endswith("/") else "")
        if len(names) > 1 and not dest.endswith("/"):
            raise BuildError(f"When using {inst.command} with more than one source file, "
                             "the destination must be a directory and end with a /")
        sources: list[tuple[context.Source, bool]] = []  # (source, unpack if an archive)
        for name in names:
            if name.startswith(("http://", "https://")):
                if inst.command == "COPY":
                    raise BuildError("Source can't be a URL for COPY")
                sources.append((await download(name, self.scratch), False))
                continue
            rels = await asyncio.to_thread(context.expand, self.context_dir, name)
            for rel in rels:
                src = await asyncio.to_thread(context.source, self.context_dir, rel)
                sources.append((src, inst.command == "ADD"))
        dest_is_dir = dest.endswith("/") or len(sources) > 1
        if len(sources) == 1:
            summary = sources[0][0].checksum
        else:
            import hashlib
            summary = "multi:" + hashlib.sha256(
                "\n".join(s.checksum for s, _ in sources).encode()).hexdigest()
        text = f"#(nop) {inst.command} {summary} in {dest}"
        container_config = self._container_config(SHELL + [text])
        if await self._cached(container_config):
            return
        container_id = await self._create(SHELL + [text])
        driver = self.backend.graph.driver
        rootfs = await asyncio.to_thread(driver.get, container_id)
        try:
            for src, extract in sources:
                await asyncio.to_thread(copy_source, self.backend.inroot, rootfs, src, dest,
                                        dest_is_dir, extract)
        except OSError as exc:
            raise BuildError(f"{inst.command} failed: {exc}") from None
        finally:
            await asyncio.to_thread(driver.put, container_id)
        await self._commit_container(container_id, container_config)


async def download(url: str, scratch: str) -> context.Source:
    """Fetch an ADD URL (or a remote context) into a new directory under `scratch`."""
    import aiohttp
    name = posixpath.basename(urllib.parse.urlparse(url).path.rstrip("/"))
    if not name:
        raise BuildError(f"cannot determine a file name from the URL {url}")
    directory = os.path.join(scratch, f"url-{len(os.listdir(scratch))}")
    os.makedirs(directory)
    path = os.path.join(directory, name)
    try:
        timeout = aiohttp.ClientTimeout(total=600, sock_connect=15)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url) as response:
                if response.status >= 400:
                    raise BuildError(f"Got HTTP status code >= 400: {response.status} {response.reason} ({url})")
                with open(path, "wb") as out:
                    async for chunk in response.content.iter_chunked(1 << 20):
                        await asyncio.to_thread(out.write, chunk)
                modified = response.headers.get("Last-Modified")
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise BuildError(f"cannot download {url}: {exc or type(exc).__name__} "
                         "(is the host reachable from pyctrd?)") from None
    os.chmod(path, 0o600)
    if modified:
        try:
            when = email.utils.parsedate_to_datetime(modified).timestamp()
            os.utime(path, (when, when))
        except (TypeError, ValueError):
            pass
    return context.Source(path, name, await asyncio.to_thread(context.checksum, path))
