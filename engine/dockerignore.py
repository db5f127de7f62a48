"""`.dockerignore` as Docker reads it, for the two places that apply it: the client,
which leaves those paths out of the build context it sends, and the builder, which
takes them out of a context that came with them (a remote one, or another client's)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .pathmatch import PatternError, go_pattern


class IgnoreError(ValueError):
    """A line that is no pattern; the message names it."""


@dataclass(frozen=True)
class IgnorePattern:
    regex: re.Pattern
    exception: bool      # `!pattern`: takes a path back in
    depth: int           # how many path components the pattern has (parent-dir matching)


def parse(text: str) -> list[IgnorePattern]:
    """The lines of a .dockerignore: trimmed, `#` comments, `!` exceptions, each cleaned
    like filepath.Clean and without a leading `/`."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
        if not line:
            continue
        cleaned = posixpath.normpath(line)
        if len(cleaned) > 1 and cleaned.startswith("/"):
            cleaned = cleaned.lstrip("/") or "."
        try:
            regex = go_pattern(cleaned, double_star=True)
        except PatternError as exc:
            raise IgnoreError(f"invalid .dockerignore pattern: {line}: {exc}") from None
        patterns.append(IgnorePattern(regex, exception, len(cleaned.split("/"))))
    return patterns


def ignored(rel: str, patterns: list[IgnorePattern]) -> bool:
    """Docker's fileutils.Matches: the last pattern that matches the path (or one of its
    parent directories, up to the pattern's depth) decides."""
    matched = False
    parent = posixpath.dirname(rel)
    parents = parent.split("/") if parent else []
    for pattern in patterns:
        hit = bool(pattern.regex.match(rel))
        if not hit and parents and pattern.depth <= len(parents):
            hit = bool(pattern.regex.match("/".join(parents[:pattern.depth])))
        if hit:
            matched = not pattern.exception
    return matched
