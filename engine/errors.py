"""Errors that jobs raise; the server turns `status` into the HTTP status code.

The statuses are the ones the Docker API documents for each endpoint (404 no
such container, 409 conflict, 304 already started, ...), so a job handler says
what went wrong and the server does not have to guess.
"""


class EngineError(Exception):
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(EngineError):
    status = 400


class Forbidden(EngineError):
    """Refused as the API documents it (a pre-defined network, a network in use): 403."""
    status = 403


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    status = 409


class NotModified(EngineError):
    status = 304


class ServerError(EngineError):
    status = 500


class NotSupported(EngineError):
    """A documented feature this daemon does not provide (yet)."""
    status = 501


class InsufficientStorage(EngineError):
    """The data root is full: the operation could not write what it had to (HTTP 507)."""
    status = 507


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the kernel, or SQLite's SQLITE_FULL ("database or disk is full")."""
    import errno
    import sqlite3
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or "disk is full" in str(exc))
    return False
