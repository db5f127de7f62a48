"""What can go wrong talking to a registry, as engine errors with the HTTP status the
daemon answers with (before a progress stream has started; inside one, as its message)."""

from __future__ import annotations

from ..errors import EngineError, NotFound, ServerError


class RegistryError(ServerError):
    """The registry answered something we cannot use, or could not be reached."""


class Unreachable(RegistryError):
    pass


class Unauthorized(EngineError):
    status = 401


class UnknownManifest(NotFound):
    """The repository or the tag/digest does not exist (or is not visible to us)."""


class DigestMismatch(RegistryError):
    """A blob or manifest whose content does not hash to the digest it was asked by."""


class NoMatchingPlatform(NotFound):
    pass


class NoDefaultRegistry(NotFound):
    """An unqualified name ("busybox") while pyctrd runs with `--default-registry none`:
    refused before any DNS query or connection."""
