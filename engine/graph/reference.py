"""Image names: `[registry[:port]/]repo[:tag]` and `repo@sha256:digest`, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadRequest

DEFAULT_TAG = "latest"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_HOST = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_HEX_ID = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    repository: str
    tag: str = ""      # "" when a digest was given
    digest: str = ""

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


DEFAULT_REGISTRY_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def normalize(repo: str) -> str:
    """The short form Docker stores: `docker.io/library/busybox` -> `busybox`.

    Today's clients send fully qualified names for the default registry."""
    for prefix in DEFAULT_REGISTRY_PREFIXES:
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
            return repo[len("library/"):] if repo.startswith("library/") else repo
    return repo


def split_tag(name: str) -> tuple[str, str]:
    """`host:5000/a/b:tag` -> ("host:5000/a/b", "tag"); the tag is "" when absent."""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return normalize(name[:colon]), name[colon + 1:]
    return normalize(name), ""


def validate_repository(repo: str) -> None:
    if not repo:
        raise BadRequest("repository name must not be empty")
    if _HEX_ID.match(repo):
        raise BadRequest(f"invalid repository name ({repo}), cannot specify 64-byte hexadecimal strings")
    parts = repo.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _HOST.match(parts[0]):
            raise BadRequest(f"invalid registry host in repository name: {repo}")
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.match(part):
            raise BadRequest(
                f"invalid repository name ({repo}), only [a-z0-9-_.] are allowed")


def validate_tag(tag: str) -> None:
    if not _TAG.match(tag):
        raise BadRequest(f"invalid tag format: {tag!r}, only [A-Za-z0-9_.-] are allowed, at most 128")


def parse(name: str, default_tag: str = DEFAULT_TAG) -> Reference:
    """Parse and validate a user-given image reference."""
    if "@" in name:
        repo, digest = name.split("@", 1)
        repo = normalize(repo)
        if not _DIGEST.match(digest):
            raise BadRequest(f"invalid digest format: {digest}")
        validate_repository(repo)
        return Reference(repo, "", digest)
    repo, tag = split_tag(name)
    validate_repository(repo)
    tag = tag or default_tag
    validate_tag(tag)
    return Reference(repo, tag)


def is_full_id(value: str) -> bool:
    return bool(_HEX_ID.match(value))
