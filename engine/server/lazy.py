"""Route handlers whose modules are imported after the daemon already answers.

A resource module (containers.py, images.py, ...) imports the daemon's jobs, and
through them most of pyctr (the graph, the drivers, pyroute2): about
half a second that `/_ping` does not need. The route table names its handlers
through `LazyModule("containers")`: `containers.list_containers` is a stand-in that
imports the real module on its first call. main.py publishes the socket first and
imports these modules in a thread meanwhile (`preload`); a request that comes
before they are in waits for that import instead of racing it for the import lock
on the event loop."""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType
from typing import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PACKAGE = __name__.rsplit(".", 1)[0]
_REGISTERED: list[str] = []                 # every lazily imported module, for preload
_preloading: asyncio.Future | None = None   # the background import, while it runs


class LazyModule:
    """`pyctr.engine.server.<name>`, imported when one of its handlers is first called."""

    def __init__(self, name: str) -> None:
        self._qualified = f"{_PACKAGE}.{name}"
        self._handlers: dict[str, Handler] = {}
        _REGISTERED.append(self._qualified)

    def __getattr__(self, attribute: str) -> Handler:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        handler = self._handlers.get(attribute)
        if handler is None:   # one stand-in per handler: the router sees the same object each time
            handler = self._handlers[attribute] = _stand_in(self._qualified, attribute)
        return handler


def _stand_in(qualified: str, attribute: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if _preloading is not None:   # even if sys.modules has it: it may be half-imported yet
            await asyncio.shield(_preloading)
        module = sys.modules.get(qualified) or importlib.import_module(qualified)
        return await getattr(module, attribute)(request)
    handler.__qualname__ = handler.__name__ = f"{qualified.rsplit('.', 1)[1]}.{attribute}"
    return handler


def _import_all(extra: tuple[str, ...]) -> list[ModuleType]:
    return [importlib.import_module(name) for name in (*_REGISTERED, *extra)]


async def preload(*extra: str) -> None:
    """Import every lazily named resource module (and `extra` modules) in a thread, so
    that the event loop keeps answering meanwhile."""
    global _preloading
    loop = asyncio.get_running_loop()
    _preloading = loop.create_future()
    try:
        await asyncio.to_thread(_import_all, extra)
    except BaseException as exc:
        _preloading.set_exception(exc)
        _preloading.exception()   # retrieved: a failure is main's to report, once
        raise
    else:
        _preloading.set_result(None)
    finally:
        _preloading = None
