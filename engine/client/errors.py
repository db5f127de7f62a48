"""Errors the API client raises. The CLI turns each into one line of text."""

from __future__ import annotations


class ClientError(Exception):
    """Base class for everything the client raises on purpose."""


class APIError(ClientError):
    """The daemon answered with an HTTP error status.

    `message` is the daemon's own text: the `message` field of its JSON error
    body, or the raw body for daemons that answer in plain text as Docker 1.2 did.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"APIError({self.status!r}, {self.message!r})"


class DaemonUnreachable(ClientError):
    """No daemon listens at the address (refused, missing socket, no permission)."""

    def __init__(self, url: str, reason: str = "refused"):
        self.url = url
        self.reason = reason
        if reason == "permission":
            text = (f"Permission denied while trying to connect to the pyctr daemon "
                    f"at {url}. Are you allowed to use it?")
        else:
            text = f"Cannot connect to the pyctr daemon at {url}. Is pyctrd running?"
        super().__init__(text)


class StreamError(ClientError):
    """A JSON progress stream (pull, push, import, build, load) reported an `error`."""

    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.message = message
        self.code = code
