"""API versions: which the server speaks, and comparing them.

Every route answers unversioned and under `/vX.Y/`. The handler sees the
version in `request["api_version"]` and picks the JSON shape for it, so newer
shapes (up to v1.41) sit beside the v1.14 ones without touching the jobs.
"""

from __future__ import annotations

from functools import lru_cache, total_ordering


@total_ordering
class APIVersion:
    __slots__ = ("major", "minor")

    def __init__(self, text: str) -> None:
        major, _, minor = text.partition(".")
        if not (major.isdigit() and minor.isdigit()):
            raise ValueError(f"malformed API version {text!r}")
        self.major, self.minor = int(major), int(minor)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = _parsed(other)
        return isinstance(other, APIVersion) and (self.major, self.minor) == (other.major, other.minor)

    def __lt__(self, other: "APIVersion | str") -> bool:
        if isinstance(other, str):
            other = _parsed(other)
        return (self.major, self.minor) < (other.major, other.minor)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@lru_cache(maxsize=128)
def _parsed(text: str) -> APIVersion:
    """The "1.21" a shape rule names, parsed once (compared per item of every listing)."""
    return APIVersion(text)


# CURRENT is what /_ping and /version advertise (clients negotiate down to it) and
# what unversioned paths get; requests are accepted from MIN_VERSION to MAX_VERSION,
# each answered in its own version's shapes (engine/server/shapes.py).
CURRENT = APIVersion("1.41")
MIN_VERSION = APIVersion("1.12")
MAX_VERSION = APIVersion("1.41")
