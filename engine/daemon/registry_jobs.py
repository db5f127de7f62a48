"""Registry jobs that are not pull or push: `POST /auth` (check credentials against the
registry before the client stores them) and `GET /images/search`. Also what pull and
push share: their job arguments, the registry settings and the progress messages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ..api.codec import api
from ..api.messages import ProgressMessage
from ..jobs import Job, JobArgs
from ..registry import endpoints
from ..registry.auth import Credentials
from ..registry.client import RegistryClient, new_session
from ..registry.endpoints import RegistryConfig

if TYPE_CHECKING:
    from .daemon import Daemon


@dataclass
class RegistryPull(JobArgs[None]):
    job: ClassVar[str] = "image_pull"

    name: str                        # repository, maybe with a registry host: "127.0.0.1:5000/busybox"
    tag: str = ""                    # a tag, a digest "sha256:...", or "" for every tag
    credentials: Credentials = field(default_factory=Credentials)


@dataclass
class RegistryPush(JobArgs[None]):
    job: ClassVar[str] = "image_push"

    name: str
    tag: str = ""                    # "" pushes every tag of the repository
    credentials: Credentials = field(default_factory=Credentials)


@dataclass
class RegistryLogin(JobArgs["LoginResult"]):
    job: ClassVar[str] = "registry_login"

    credentials: Credentials


@dataclass
class RegistrySearch(JobArgs["list[SearchResult]"]):
    job: ClassVar[str] = "image_search"

    term: str
    credentials: Credentials = field(default_factory=Credentials)


@dataclass
class SearchResult:
    """The v1 search result shape, which the API passes through (lower-case keys)."""
    name: str = api("name", default="")
    description: str = api("description", default="")
    star_count: int = api("star_count", default=0)
    is_official: bool = api("is_official", default=False)
    is_automated: bool = api("is_automated", default=False)


@dataclass
class LoginResult:
    status: str


def registry_config(daemon: Daemon) -> RegistryConfig:
    return RegistryConfig(list(daemon.config.insecure_registries), list(daemon.config.registry_mirrors),
                          default_registry=daemon.config.default_registry != "none")


# --- progress messages ------------------------------------------------------------------

def _human(n: float) -> str:
    """Docker's units.HumanSize: decimal units, 4 significant digits."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.4g} {unit}"
        n /= 1000
    return f"{n:.4g} TB"


def progress_bar(current: int, total: int, width: int = 50) -> str:
    if total <= 0:
        return f"{_human(current)}"
    filled = min(width, int(width * current / total))
    arrow = ">" if filled < width else ""
    bar = "=" * filled + arrow + " " * (width - filled - len(arrow))
    return f"[{bar}] {_human(current)}/{_human(total)}"


class Progress:
    """Writes Docker's JSON progress messages to the job's output; per-id byte progress
    at most every `interval` seconds (the last one always goes out)."""

    def __init__(self, job: Job, interval: float = 0.1) -> None:
        self.job = job
        self.interval = interval
        self._last: dict[str, float] = {}

    async def send(self, message: ProgressMessage) -> None:
        await self.job.write(message.encode())

    async def status(self, status: str, ident: str = "") -> None:
        await self.send(ProgressMessage(status=status, id=ident or None))

    async def layer(self, ident: str, status: str) -> None:
        await self.send(ProgressMessage(status=status, progress_detail={}, id=ident))

    async def bytes(self, ident: str, status: str, current: int, total: int,
                    force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last.get(ident, 0) < self.interval and current < total:
            return
        self._last[ident] = now
        detail = {"current": current, "total": total} if total else {"current": current}
        await self.send(ProgressMessage(status=status, progress_detail=detail,
                                        progress=progress_bar(current, total), id=ident))

    async def aux(self, record: dict) -> None:
        """A message that carries a record instead of a status (push's digest)."""
        await self.send(ProgressMessage(progress_detail={}, aux=record))


# --- jobs -------------------------------------------------------------------------------

async def registry_login(daemon: Daemon, job: Job[RegistryLogin]) -> LoginResult:
    args = job.args
    creds = args.credentials
    if not creds.username and not creds.identity_token:
        from ..errors import BadRequest
        raise BadRequest("login needs a username (and password)")
    index = endpoints.index_of_server(creds.server_address)
    async with new_session() as session:
        client = RegistryClient(session, registry_config(daemon), index, creds,
                                repository="", actions="pull")
        await client.login()
    return LoginResult("Login Succeeded")


async def image_search(daemon: Daemon, job: Job[RegistrySearch]) -> list[SearchResult]:
    """`term` is `[registry/]words`: the v1 search endpoint where the registry has one,
    else the registry's catalog filtered by the words (substring match, as v1 did)."""
    args = job.args
    term = args.term.strip()
    index, words = endpoints.split_index(term) if "/" in term else (endpoints.HUB_INDEX, term)
    async with new_session() as session:
        client = RegistryClient(session, registry_config(daemon), index, args.credentials)
        await client.connect()
        found = await client.search_v1(words)
        if found is not None:
            return [SearchResult(str(r.get("name") or ""), str(r.get("description") or ""),
                                 int(r.get("star_count") or 0), bool(r.get("is_official")),
                                 bool(r.get("is_automated") or r.get("is_trusted"))) for r in found]
        names = await client.catalog()
    prefix = "" if index == endpoints.HUB_INDEX else index + "/"
    words = words.lower()
    return [SearchResult(prefix + name) for name in sorted(names) if words in name.lower()]
