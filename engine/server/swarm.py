"""Swarm mode and plugins, answered as a Docker engine that is in no swarm and has no
plugins: dockerd's own statuses and words, so clients show what they show against it
(`docker node ls`: "This node is not a swarm manager ...", `docker plugin ls`: empty)."""

from __future__ import annotations

from aiohttp import web


from ..errors import BadRequest, EngineError, NotFound, NotSupported
from .router import Handler, Route

# dockerd's texts for a node that never joined a swarm (daemon/cluster).
NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                 'to connect this node to swarm and try again.')
NOT_IN_A_SWARM = "This node is not part of a swarm"


class Unavailable(EngineError):
    status = 503


def _unavailable(message: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        raise Unavailable(message)
    return handler


async def _no_swarm_mode(request: web.Request) -> web.Response:
    # dockerd would make or join one; pyctr has no cluster to make.
    raise Unavailable("pyctr has no swarm mode: this node cannot init or join a swarm")


async def list_plugins(request: web.Request) -> web.Response:
    # Here, not at the top: this module is imported before the socket answers (routes.py).
    from ..api.filters import Filters
    from .wire import respond
    filters = Filters.parse(request.query.get("filters")).validate(("capability", "enabled"))
    for value in filters.get("enabled"):
        if value not in ("true", "false"):
            raise BadRequest(f"Invalid filter 'enabled={value}'")
    return respond(request, [])   # no plugin is ever installed


async def plugin_not_found(request: web.Request) -> web.Response:
    raise NotFound(f'plugin "{request.match_info["name"]}" not found')


async def install_plugin(request: web.Request) -> web.Response:
    raise NotSupported("installing plugins is not supported by pyctr (it has no plugin system)")


def swarm_routes() -> list[Route]:
    not_manager = _unavailable(NOT_A_MANAGER)
    routes = [
        Route("GET", "/swarm", not_manager),
        Route("POST", "/swarm/init", _no_swarm_mode),
        Route("POST", "/swarm/join", _no_swarm_mode),
        Route("POST", "/swarm/leave", _unavailable(NOT_IN_A_SWARM)),
        Route("POST", "/swarm/update", not_manager),
        Route("GET", "/swarm/unlockkey", not_manager),
        Route("POST", "/swarm/unlock", not_manager),
    ]
    # Every read and write of the cluster's objects asks the manager first.
    for family in ("/nodes", "/services", "/tasks", "/secrets", "/configs"):
        for method in ("GET", "POST", "PUT", "DELETE"):
            routes += [Route(method, family, not_manager), Route(method, family + "/{rest:.*}", not_manager)]
    return routes


def plugin_routes() -> list[Route]:
    return [
        Route("GET", "/plugins", list_plugins),
        Route("GET", "/plugins/privileges", install_plugin),
        Route("POST", "/plugins/pull", install_plugin),
        Route("POST", "/plugins/create", install_plugin),
        Route("GET", "/plugins/{name:.+}/json", plugin_not_found),
        Route("DELETE", "/plugins/{name:.+}", plugin_not_found),
        *(Route("POST", f"/plugins/{{name:.+}}/{verb}", plugin_not_found)
          for verb in ("enable", "disable", "push", "upgrade", "set")),
    ]
