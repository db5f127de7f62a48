"""The Docker Remote API v1.14 clients: api.py (sync, for `pyctr` and `pyctr-shell`)
and aio.py (async, for `pyctr-tui`), over one endpoint table (endpoints.py), and
frontend/, what those front-ends share."""

TYPE_CHECKING = False  # typing costs ~5 ms at start-up (issue 24); checkers read the imports below

if TYPE_CHECKING:
    from .api import API_VERSION, Client, Response
    from .errors import APIError, ClientError, DaemonUnreachable, StreamError
    from .hosts import DEFAULT_HOST

# Loaded on first use (PEP 562): importing frontend/ (every CLI start does) must
# not pull in http.client, ssl and the wire model behind Client.
_LAZY = {"API_VERSION": "apiversion", "Client": "api", "Response": "api", "APIError": "errors",
         "ClientError": "errors", "DaemonUnreachable": "errors", "StreamError": "errors",
         "DEFAULT_HOST": "hosts"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["API_VERSION", "APIError", "Client", "ClientError", "DaemonUnreachable",
           "DEFAULT_HOST", "Response", "StreamError"]
