"""The synchronous Docker Remote API v1.14 client used by `pyctr` and `pyctr-shell`."""

from .api import API_VERSION, Client, Response
from .errors import APIError, ClientError, DaemonUnreachable, StreamError
from .hosts import DEFAULT_HOST

__all__ = ["API_VERSION", "APIError", "Client", "ClientError", "DaemonUnreachable",
           "DEFAULT_HOST", "Response", "StreamError"]
