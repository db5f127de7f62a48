"""Go's path.Match / filepath.Match patterns as regular expressions: the one
translation that image `reference` filters and `.dockerignore` (which adds `**`,
as Docker's fileutils does) both use."""

from __future__ import annotations

import re


class PatternError(ValueError):
    """A malformed pattern (Go's ErrBadPattern); the message names it."""


def _bad(pattern: str) -> PatternError:
    return PatternError(f"syntax error in pattern: {pattern}")


def _char_class(pattern: str, i: int) -> tuple[int, str]:
    """`[^a-z]` from just after its `[`: (the index after its `]`, the regex class)."""
    def char(at: int) -> tuple[int, str]:
        if at >= len(pattern) or pattern[at] in "-]":
            raise _bad(pattern)
        if pattern[at] == "\\":
            at += 1
            if at >= len(pattern):
                raise _bad(pattern)
        return at + 1, pattern[at]

    negate = pattern[i:i + 1] == "^"
    i += negate
    ranges: list[str] = []
    while not (pattern[i:i + 1] == "]" and ranges):
        i, low = char(i)
        if pattern[i:i + 1] == "-":
            i, high = char(i + 1)
            if high < low:
                raise _bad(pattern)
            ranges.append(re.escape(low) + "-" + re.escape(high))
        else:
            ranges.append(re.escape(low))
    return i + 1, "[" + ("^" if negate else "") + "".join(ranges) + "]"


def go_pattern(pattern: str, double_star: bool = False) -> re.Pattern[str]:
    """`*` and `?` never match `/`, `[...]` classes (`^` negates), `\\` escapes.
    With `double_star` (.dockerignore), `**` matches any number of directories:
    `**/` may match nothing, a trailing `**` matches everything below."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if double_star and pattern[i + 1:i + 2] == "*":
                i += 2
                if pattern[i:i + 1] == "/":
                    i += 1
                out.append(".*" if i >= len(pattern) else "(?:.*/)?")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 >= len(pattern):
                raise _bad(pattern)
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            i, klass = _char_class(pattern, i + 1)
            out.append(klass)
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)
