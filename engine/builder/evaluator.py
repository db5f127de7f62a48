"""The evaluator: builds a parsed Dockerfile stage by stage, as Docker 20.10's classic
(non-BuildKit) builder does.

Every step of a stage yields an image whose parent is the previous step's image: RUN
runs the command in a real container and commits its changes; ADD/COPY/WORKDIR write
into a (not started) container's filesystem and commit that; the other instructions
change only the config and commit an empty layer. Before doing a step's work the cache
is asked (cache.py). `FROM scratch` is the empty base: nothing is pulled, and a first
ADD/COPY on it makes a layer without a parent.

The stream is the classic builder's: `Step N/M : ...`, ` ---> Running in`, RUN's
stdout (and stderr, in red as Docker marks it), `Removing intermediate container`,
` ---> <id>`, an `aux` message with each stage's image id, `Successfully built` and
`Successfully tagged` per tag; with `quiet` only the image id (or, on failure, what
was held back, then the error).
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import hashlib
import logging
import os
import posixpath
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from typing import Awaitable, Callable

from ..errors import EngineError, NotFound
from ..graph import reference
from ..graph.graph import new_id, now_rfc3339
from ..graph.image_record import ImageRecord
from ..api.applied import PLATFORMS
from ..api.config import ContainerConfig
from ..libcontainer.paths import PathEscape, resolve_in_root
from . import cache, context
from .backend import Backend
from .config_steps import BuildState, Committed, apply_config, expand
from .copier import copy_source, make_dir
from .lex import lookup
from .owners import OwnerError, resolve_owner
from .options import BuildError, BuildOptions
from .parser import Dockerfile, DockerfileError, Instruction, Stage, parse_line

log = logging.getLogger("pyctr.builder")

Emit = Callable[[str], Awaitable[None]]

# Usable without an ARG, and then left out of history and the cache key (Docker's list).
PREDEFINED_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                   "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


async def _discard(data: bytes) -> None:
    return None


@dataclass
class StageResult:
    image: str
    config: ContainerConfig


# --- the builder -------------------------------------------------------------------------

class Builder:
    def __init__(self, backend: Backend, context_dir: str, scratch: str, options: BuildOptions,
                 emit: Emit, raw: Callable[[bytes], Awaitable[None]] | None = None) -> None:
        self.backend = backend
        self.raw = raw or _discard
        self.context_dir = context_dir
        self.scratch = scratch          # a private directory for downloads and scratch layers
        self.options = options
        self._emit = emit
        self.held: list[str] = []        # what `quiet` holds back (sent if the build fails)
        self.state = BuildState()
        self.tmp_containers: list[str] = []
        # ADD/COPY's containers are pyctr's way of writing a layer; Docker's classic builder
        # writes those layers without a container, so the stream does not mention them.
        self.quiet_containers: set[str] = set()
        self.stages: list[StageResult] = []
        self.meta_args: dict[str, str | None] = {}
        self.used_args: set[str] = set()
        self.step = 0
        self.total = 0
        self.allowed_cache: set[str] | None = None
        self.escape = "\\"

    async def emit(self, text: str) -> None:
        if self.options.quiet:
            self.held.append(text)
        else:
            await self._emit(text)

    def show_id(self, image_id: str) -> str:
        return ("sha256:" + image_id) if self.options.sha256_ids and image_id else image_id

    def _check_tags(self) -> list[tuple[str, str]]:
        names = []
        for name in self.options.tags:
            repo, tag = reference.split_tag(name)
            try:
                reference.validate_repository(reference.normalize(repo))
                reference.validate_tag(tag or reference.DEFAULT_TAG)
            except EngineError as exc:
                raise BuildError(f"invalid reference format: {name}: {exc.message}") from None
            names.append((repo, tag or reference.DEFAULT_TAG))
        return names

    def _select(self, dockerfile: Dockerfile) -> list[Stage]:
        stages = dockerfile.stages
        if self.options.target:
            index = next((s.index for s in stages if s.name == self.options.target.lower()), None)
            if index is None:
                raise BuildError(f"failed to reach build target {self.options.target} in Dockerfile")
            stages = stages[:index + 1]
        if self.options.labels:   # `--label`s: a LABEL step at the end of the last stage
            pairs = sorted(self.options.labels.items())
            text = "LABEL " + " ".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
            inst = parse_line(0, text)
            inst.pairs = [(_quote(k), _quote(v)) for k, v in pairs]
            stages[-1].commands.append(inst)
        return stages

    async def build(self, dockerfile: Dockerfile) -> str:
        tags = self._check_tags()
        if self.options.platform and self.options.platform.lower() not in PLATFORMS:
            raise BuildError(f"platform {self.options.platform} is not supported: this pyctrd "
                             "builds linux/amd64 images only")
        self.escape = dockerfile.escape
        stages = self._select(dockerfile)
        self.total = len(dockerfile.meta_args) + sum(1 + len(s.commands) for s in stages)
        self.dockerfile = dockerfile
        try:
            self.allowed_cache = await self._cache_sources()
            for inst in dockerfile.meta_args:
                await self.print_step(inst)
                await self.meta_arg(inst)
            for stage in stages:
                await self.build_stage(stage)
        except BaseException as exc:
            # Docker keeps a failed step's container for inspection unless --force-rm; a
            # build that broke off for another reason (the client left) cleans up.
            if self.options.forcerm or not isinstance(exc, (BuildError, DockerfileError, EngineError)):
                await self.remove_containers()
            if self.options.quiet and self.held:
                await self._emit("".join(self.held))
            raise
        image = self.state.image
        if not image:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        unused = sorted(k for k in self.options.build_args
                        if k not in self.used_args and k not in PREDEFINED_ARGS)
        if unused:
            await self.emit(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        await self.emit(f"Successfully built {image[:12]}\n")
        for repo, tag in tags:
            self.backend.graph.tag(image, repo, tag, force=True)
            await self.emit(f"Successfully tagged {reference.normalize(repo)}:{tag}\n")
        if self.options.quiet:
            await self._emit(self.show_id(image) + "\n")
        return image

    async def print_step(self, inst: Instruction) -> None:
        self.step += 1
        await self.emit(f"Step {self.step}/{self.total} : {inst.text()}\n")

    async def _cache_sources(self) -> set[str] | None:
        """With --cache-from, only the named images and their parents are cache hits (Docker:
        a hit must be an ancestor of a cache source); names that do not resolve are skipped."""
        if not self.options.cache_from:
            return None
        allowed: set[str] = set()
        for name in self.options.cache_from:
            try:
                image = self.backend.graph.resolve(name)
            except NotFound:
                log.info("cache-from %s: no such image, ignored", name)
                continue
            allowed.update(row.id for row in self.backend.graph.history(image.id))
        return allowed

    async def remove_containers(self) -> None:
        while self.tmp_containers:
            cid = self.tmp_containers.pop(0)
            removed = await self.backend.remove_container(cid)
            if removed and cid not in self.quiet_containers:
                await self.emit(f"Removing intermediate container {cid[:12]}\n")
            self.quiet_containers.discard(cid)

    # --- ARG -----------------------------------------------------------------------------

    def _given(self, name: str) -> str | None:
        """A --build-arg's value (None: not given, or given without a value)."""
        return self.options.build_args.get(name)

    async def meta_arg(self, inst: Instruction) -> None:
        env = [f"{k}={v}" for k, v in self.meta_args.items() if v is not None]
        name = expand(inst, inst.pairs[0][0], env)
        default = inst.pairs[0][1]
        value = expand(inst, default, env) if default is not None else None
        if name in self.options.build_args and self._given(name) is not None:
            value = self._given(name)
            self.used_args.add(name)
        self.meta_args[name] = value

    def expansion_env(self) -> list[str]:
        """What words expand with: the stage's ENV, then its ARGs (an ENV of the same
        name wins), then predefined proxy args the client gave."""
        env = list(self.state.config.env or [])
        names = {e.split("=", 1)[0] for e in env}
        for name, value in self.state.args.items():
            if value is not None and name not in names:
                env.append(f"{name}={value}")
                names.add(name)
        for name in PREDEFINED_ARGS:
            value = self._given(name)
            if value is not None and name not in names:
                env.append(f"{name}={value}")
        return env

    def run_args(self) -> tuple[list[str], list[str]]:
        """(the build args a RUN sees as env, those its history and cache key name)."""
        names = {e.split("=", 1)[0] for e in self.state.config.env or []}
        env, named = [], []
        for name, value in self.state.args.items():
            if value is not None and name not in names:
                env.append(f"{name}={value}")
                named.append(f"{name}={value}")
        for name in PREDEFINED_ARGS:
            value = self._given(name)
            if value is not None and name not in names and name not in self.state.args:
                env.append(f"{name}={value}")   # in the env, never in history (proxies)
        return env, sorted(named)

    async def do_arg(self, inst: Instruction) -> None:
        env = self.expansion_env()
        name = expand(inst, inst.pairs[0][0], env)
        default = inst.pairs[0][1]
        value = expand(inst, default, env) if default is not None else None
        if self._given(name) is not None:
            value = self._given(name)
        elif default is None and name in self.meta_args:
            value = self.meta_args[name]   # `ARG NAME` in a stage takes the global default
        if name in self.options.build_args:
            self.used_args.add(name)
        self.state.args[name] = value
        text = f"ARG {name}" + (f"={expand(inst, default, env)}" if default is not None else "")
        await self.commit_config(Committed(text))

    # --- stages ---------------------------------------------------------------------------

    async def build_stage(self, stage: Stage) -> None:
        await self.print_step(stage.source)
        await self.do_from(stage)
        await self.emit(f" ---> {self.state.image[:12]}\n")
        for inst in stage.commands:
            await self.print_step(inst)
            await self.step_guarded(inst)
            await self.emit(f" ---> {self.state.image[:12]}\n")
        if self.options.aux and self.state.image and not self.options.quiet:
            await self.raw(_aux_line(self.show_id(self.state.image)))
        self.stages.append(StageResult(self.state.image, copy.deepcopy(self.state.config)))

    async def step_guarded(self, inst: Instruction) -> None:
        try:
            await self.dispatch(inst)
        except BuildError:
            raise
        except EngineError as exc:  # NotFound, BadRequest, ...: the step names itself
            raise BuildError(exc.message) from None
        except (context.ContextError, DockerfileError, OwnerError) as exc:
            raise BuildError(str(exc)) from None
        if self.options.rm:
            await self.remove_containers()

    def _stage_by_name(self, name: str, current: int) -> int | None:
        """An earlier stage that `name` names; a later or the current one is a cycle."""
        index = self.dockerfile.stage_index(name)
        if index is None:
            return None
        if index >= current:
            return -1
        return index

    async def do_from(self, stage: Stage) -> None:
        inst = stage.source
        meta_env = [f"{k}={v}" for k, v in self.meta_args.items() if v is not None]
        name = expand(inst, stage.base, meta_env)
        if not name:
            raise BuildError(f"base name ({stage.base}) should not be blank: an ARG used in FROM "
                             "must be declared (with a value) before the first FROM")
        platform = expand(inst, stage.platform, meta_env)
        if platform and platform.lower() not in PLATFORMS:
            raise BuildError(f"FROM --platform={platform}: this pyctrd builds linux/amd64 images only")
        self.state = BuildState(name=stage.name, index=stage.index)
        ref = self._stage_by_name(name, stage.index)   # a later stage's name: an image
        if ref is not None and ref >= 0:
            base = self.stages[ref]
            self.state.image, self.state.config = base.image, copy.deepcopy(base.config)
        elif name == "scratch":
            self.state.config = ContainerConfig()
        else:
            image = await self.base_image(name)
            self.state.image = image.id
            self.state.config = copy.deepcopy(image.config or ContainerConfig())
        self.state.config.hostname = ""
        self.state.config.open_stdin = self.state.config.stdin_once = False
        if lookup(self.state.config.env or [], "PATH") is None:   # Docker's default for a stage
            self.state.config.env = list(self.state.config.env or []) + [f"PATH={DEFAULT_PATH}"]
        triggers = self.state.config.on_build or []
        self.state.config.on_build = []
        if triggers:
            word = "trigger" if len(triggers) == 1 else "triggers"
            await self.emit(f"# Executing {len(triggers)} build {word}\n")
        for text in triggers:
            try:
                trigger = parse_line(inst.line, text, escape=self.escape)
            except DockerfileError as exc:
                raise BuildError(f"ONBUILD trigger {text!r} of {name}: {exc.reason}") from None
            if trigger.command in ("ONBUILD", "FROM", "MAINTAINER"):
                raise BuildError(f"{trigger.command} isn't allowed as an ONBUILD trigger")
            await self.step_guarded(trigger)

    async def base_image(self, name: str):
        graph = self.backend.graph
        if not self.options.pull:
            try:
                return graph.resolve(name)
            except NotFound:
                pass
        await self.pull(name)  # a missing base image is pulled (with --pull: always)
        return graph.resolve(name)

    async def pull(self, name: str) -> None:
        repo, tag = reference.split_tag(name)
        if "@" in name:
            repo, _, tag = name.partition("@")
        try:
            await self.backend.pull_image(repo, tag or reference.DEFAULT_TAG, self)
        except EngineError as exc:
            if self.options.pull and self._present(name):
                raise BuildError(f"pull: {name} is here, but pulling it afresh (as the pull option "
                                 f"asks) failed: {exc.message}") from None
            raise BuildError(f"No such image: {name}, and pulling it failed: {exc.message}") from None

    def _present(self, name: str) -> bool:
        try:
            self.backend.graph.resolve(name)
            return True
        except EngineError:
            return False

    async def write(self, data: bytes) -> None:
        """The pull's progress messages go into the build's stream as they are."""
        if not self.options.quiet:
            await self.raw(data)

    # --- dispatch ----------------------------------------------------------------------

    async def dispatch(self, inst: Instruction) -> None:
        cmd = inst.command
        if cmd == "MAINTAINER":
            self.state.maintainer = inst.args[0]
            await self.commit_config(Committed(f"MAINTAINER {inst.args[0]}"))
        elif cmd == "ARG":
            await self.do_arg(inst)
        elif cmd == "RUN":
            await self.do_run(inst)
        elif cmd in ("ADD", "COPY"):
            await self.do_add(inst)
        elif cmd == "WORKDIR":
            committed = apply_config(self.state, inst, self.expansion_env())
            await self.do_workdir(committed)
        else:
            notes: list[str] = []
            committed = apply_config(self.state, inst, self.expansion_env(), note=notes.append)
            for text in notes:
                await self.emit(text)
            await self.commit_config(committed)

    # --- committing --------------------------------------------------------------------

    def _container_config(self, cmd: list[str]) -> ContainerConfig:
        config = copy.deepcopy(self.state.config)
        config.cmd = cmd
        return config

    def _comment(self, committed: Committed) -> list[str]:
        if committed.single_arg:
            return self.state.shell() + [f"#(nop) {committed.text}"]
        return self.state.shell() + ["#(nop) ", committed.text]

    async def _cached(self, container_config: ContainerConfig) -> bool:
        if self.options.nocache:
            return False
        hit = cache.lookup(self.backend.graph, self.state.image, container_config, self.allowed_cache)
        if hit is None:
            return False
        await self.emit(" ---> Using cache\n")
        self.state.image = hit
        return True

    def _image_config(self) -> ContainerConfig:
        """The config a step's image gets: the stage's, naming its parent (as Docker's)."""
        config = copy.deepcopy(self.state.config)
        config.image = self.state.image
        return config

    def _record(self, container_config: ContainerConfig, container_id: str = "") -> ImageRecord:
        from .. import __version__
        return ImageRecord(id=new_id(), parent=self.state.image, created=now_rfc3339(),
                           container=container_id, container_config=container_config,
                           docker_version=__version__, author=self.state.maintainer,
                           config=self._image_config())

    async def commit_config(self, committed: Committed) -> None:
        """A step that changes only the config: an empty layer, as Docker's `#(nop)` commits."""
        container_config = self._container_config(self._comment(committed))
        if await self._cached(container_config):
            return
        record = await self.backend.graph.register(self._record(container_config), None)
        self.state.image = record.id

    async def _commit_container(self, container_id: str, container_config: ContainerConfig) -> None:
        self.state.image = await self.backend.commit_container(
            container_id, config=self._image_config(), container_config=container_config,
            author=self.state.maintainer)

    async def _create(self, cmd: list[str], env: list[str] | None = None) -> str:
        config = self._container_config(cmd)
        config.image = self.state.image
        config.entrypoint = []  # the step's command runs as given, not through ENTRYPOINT
        config.healthcheck = None  # a build step is never health-checked
        if env:
            config.env = list(config.env or []) + env
        container_id = await self.backend.create_container(config, copy.deepcopy(self.options.host_config))
        self.tmp_containers.append(container_id)
        return container_id

    # --- RUN ---------------------------------------------------------------------------

    async def do_run(self, inst: Instruction) -> None:
        if not self.state.image:
            raise BuildError(f"RUN {inst.rest}: the stage is FROM scratch and has no files yet "
                             "(nothing to run the command with)")
        cmd = list(inst.args) if inst.json_form else self.state.shell() + inst.args
        env, named = self.run_args()
        saved = cmd if not (env or named) else [f"|{len(named)}", *named, *cmd]
        container_config = self._container_config(saved)
        if await self._cached(container_config):
            return
        container_id = await self._create(cmd, env)
        await self.emit(f" ---> Running in {container_id[:12]}\n")
        code = await self.backend.run_container(container_id, self._step_output)
        if code != 0:
            raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
        await self._commit_container(container_id, container_config)

    async def _step_output(self, stream: str, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        if stream == "stderr":
            text = "\x1b[91m" + text + "\x1b[0m"   # how Docker marks a step's stderr
        await self.emit(text)

    # --- WORKDIR ---------------------------------------------------------------------------

    async def do_workdir(self, committed: Committed) -> None:
        """Docker creates the working directory in the image (root-owned): a layer."""
        container_config = self._container_config(self._comment(committed))
        if await self._cached(container_config):
            return
        path = self.state.config.working_dir
        await self._write_layer(container_config, lambda inroot, rootfs: make_dir(inroot, rootfs, path),
                                announce=True)

    async def _write_layer(self, container_config: ContainerConfig, write, announce: bool = False) -> None:
        """Run `write(inroot, rootfs)` on a new layer over the current image and commit it;
        on scratch (no image yet) the layer is made in a private directory and registered
        without a parent."""
        inroot = self.backend.inroot
        if not self.state.image:
            root = tempfile.mkdtemp(prefix="layer-", dir=self.scratch)
            try:
                await asyncio.to_thread(write, inroot, root)
                from ..archive import pack_dir
                from .iterio import reader
                stream = reader(pack_dir(root))
                record = await self.backend.graph.register(self._record(container_config), stream)
            finally:
                await asyncio.to_thread(shutil.rmtree, root, True)
            self.state.image = record.id
            return
        container_id = await self._create(container_config.cmd or [])
        if announce:
            await self.emit(f" ---> Running in {container_id[:12]}\n")
        else:
            self.quiet_containers.add(container_id)
        driver = self.backend.graph.driver
        rootfs = await asyncio.to_thread(driver.get, container_id)
        try:
            try:
                await asyncio.to_thread(write, inroot, rootfs)
            finally:
                await asyncio.to_thread(driver.put, container_id)
        except BaseException as exc:
            # nothing to inspect in a failed copy (Docker makes no container for it): gone at once
            self.tmp_containers.remove(container_id)
            await self.backend.remove_container(container_id)
            self.quiet_containers.discard(container_id)
            if isinstance(exc, OSError):
                step = container_config.cmd[-1].strip() if container_config.cmd else "step"
                raise BuildError(f"{step.removeprefix('#(nop) ')} failed: {exc}") from None
            raise
        await self._commit_container(container_id, container_config)

    # --- ADD / COPY --------------------------------------------------------------------

    async def do_add(self, inst: Instruction) -> None:
        env = self.expansion_env()
        words = [expand(inst, w, env) for w in inst.args]
        names, given_dest = words[:-1], words[-1]
        chown = expand(inst, inst.flags.get("chown", ""), env)
        dest = given_dest
        if not dest.startswith("/"):   # relative to WORKDIR; history shows it as written
            dest = posixpath.normpath(posixpath.join(self.state.config.working_dir or "/", dest)) + (
                "/" if dest.endswith("/") or dest in (".", "./") else "")
            dest = dest.replace("//", "/")
        from_flag = expand(inst, inst.flags.get("from", ""), env)
        if from_flag:
            root, release = await self._from_root(inst, from_flag)
        else:
            root, release = self.context_dir, None
        try:
            sources = await self._sources(inst, names, root, bool(from_flag))
            if len(sources) > 1 and not dest.endswith("/"):
                raise BuildError(f"When using {inst.command} with more than one source file, "
                                 "the destination must be a directory and end with a /")
            dest_is_dir = dest.endswith("/") or len(sources) > 1
            if len(sources) == 1:
                summary = sources[0][0].checksum
            else:
                summary = "multi:" + hashlib.sha256(
                    "\n".join(s.checksum for s, _ in sources).encode()).hexdigest()
            chown_text = f"--chown={chown}" if chown else ""
            committed = Committed(f"{inst.command} {chown_text}{summary} in {given_dest} ", single_arg=True)
            container_config = self._container_config(self._comment(committed))
            if await self._cached(container_config):
                return

            def write(inroot, rootfs: str) -> None:
                owner = resolve_owner(rootfs, chown) if chown else None
                for src, extract in sources:
                    copy_source(inroot, rootfs, src, dest, dest_is_dir, extract, owner)
            await self._write_layer(container_config, write)
        finally:
            if release is not None:
                await release()

    async def _sources(self, inst: Instruction, names: list[str], root: str,
                       from_image: bool) -> list[tuple[context.Source, bool]]:
        sources: list[tuple[context.Source, bool]] = []  # (source, unpack if an archive)
        for name in names:
            if name.startswith(("http://", "https://")) and not from_image:
                if inst.command == "COPY":
                    raise BuildError("Source can't be a URL for COPY")
                sources.append((await download(name, self.scratch), False))
                continue
            if from_image:
                rels = await asyncio.to_thread(image_expand, root, name)
                for rel in rels:
                    sources.append((await asyncio.to_thread(image_source, root, rel, name), False))
                continue
            rels = await asyncio.to_thread(context.expand, self.context_dir, name)
            for rel in rels:
                src = await asyncio.to_thread(context.source, self.context_dir, rel)
                sources.append((src, inst.command == "ADD"))
        return sources

    async def _from_root(self, inst: Instruction, name: str):
        """The filesystem `COPY --from` reads: an earlier stage's image or an image's, mounted
        read-only-by-use until the step ends; (root, release)."""
        index = self._stage_by_name(name, self.state.index)
        if index == -1:
            raise BuildError(f"COPY --from={name}: that stage is the current one or comes later: "
                             "a stage may only copy from earlier ones (a cycle otherwise)")
        if index is not None and index >= 0:
            image_id = self.stages[index].image
            if not image_id:
                raise BuildError(f"COPY --from={name}: that stage is FROM scratch and has no files")
        else:
            try:
                image_id = (await self.base_image(name)).id
            except BuildError:
                raise BuildError(f"COPY --from={name}: no build stage of that name, and {name} is "
                                 "not an image here (pulling it failed)") from None
        driver = self.backend.graph.driver
        root = await asyncio.to_thread(driver.get, image_id)

        async def release() -> None:
            await asyncio.to_thread(driver.put, image_id)
        return root, release


def _quote(text: str) -> str:
    """A `--label` key or value as a LABEL word that expands back to itself."""
    if text and all(c.isalnum() or c in "-_./:@" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _aux_line(image_id: str) -> bytes:
    from ..api.messages import progress_line
    return progress_line(aux={"ID": image_id})


# --- COPY --from sources: paths in an image's filesystem --------------------------------------

def image_resolve(root: str, name: str, shown: str) -> str:
    """A path in an image's filesystem as a container would see it (symlinks followed, never
    out of the root)."""
    try:
        return resolve_in_root(root, name, clamp_above_root=True, reroot_absolute=True)
    except PathEscape:
        raise context.ContextError(f"COPY --from: {shown}: too many levels of symbolic links") from None


def image_expand(root: str, name: str) -> list[str]:
    cleaned = posixpath.normpath("/" + name).lstrip("/") or "."
    if not context.GLOB_CHARS.search(cleaned):
        return [cleaned]
    from ..pathmatch import go_pattern
    regex = go_pattern(cleaned)
    found = context.matching_paths(root, regex)
    if not found:
        raise context.ContextError(f"COPY failed: no source files were specified: {name} matches "
                                   "nothing in the stage or image")
    return sorted(found)


def image_source(root: str, rel: str, shown: str) -> context.Source:
    path = image_resolve(root, rel, shown)
    if not os.path.lexists(path):
        raise context.ContextError(f"COPY failed: stat {shown}: file does not exist in the "
                                   "stage or image it copies from")
    return context.Source(path, rel, context.checksum(path, rel))


async def download(url: str, scratch: str) -> context.Source:
    """Fetch an ADD URL (or a remote context) into a new directory under `scratch`."""
    import aiohttp

    from .. import barepackage
    name = posixpath.basename(urllib.parse.urlparse(url).path.rstrip("/"))
    if not name:
        raise BuildError(f"cannot determine a file name from the URL {url}")
    directory = os.path.join(scratch, f"url-{len(os.listdir(scratch))}")
    os.makedirs(directory)
    path = os.path.join(directory, name)
    try:
        await barepackage.loaded("aiohttp")   # not on the loop: see barepackage.py
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
    return context.Source(path, name, await asyncio.to_thread(context.checksum, path, name))


