"""The one exception the archive package raises for bad input."""


class ArchiveError(Exception):
    """The archive is corrupt, truncated, unsupported or hostile; the message names the entry."""
