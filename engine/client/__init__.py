"""The Docker Remote API v1.14 clients: api.py (sync, for `pyctr` and `pyctr-shell`)
and aio.py (async, for `pyctr-tui`), over one endpoint table (endpoints.py), and
frontend/, what those front-ends share."""

from .api import API_VERSION, Client, Response
from .errors import APIError, ClientError, DaemonUnreachable, StreamError
from .hosts import DEFAULT_HOST

__all__ = ["API_VERSION", "APIError", "Client", "ClientError", "DaemonUnreachable",
           "DEFAULT_HOST", "Response", "StreamError"]
