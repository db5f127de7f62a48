"""The route table of the API server: every (method, path, handler) in one list.

Each route is registered unversioned and under `/vX.Y/` (router.py); a GET
answers HEAD too. The handlers parse the request into a job's typed args, run
the job on the engine, and write its record as JSON (shapes.py) or a stream.
The list is grouped for the reader: no two patterns match the same request, so
the order does not change what answers.

The resource modules are named lazily (lazy.py): the socket answers `/_ping` before
they, and the daemon's jobs behind them, are imported."""

from __future__ import annotations

from . import swarm
from .lazy import LazyModule
from .ping import ping
from .router import Route
from .unsupported import unsupported, unsupported_families

build, containers, exec, images, networks, registry, stats, system, tarballs, volumes = (
    LazyModule(name) for name in ("build", "containers", "exec", "images", "networks", "registry",
                                  "stats", "system", "tarballs", "volumes"))

ROUTES: list[Route] = [
    # system
    Route("GET", "/_ping", ping),
    Route("GET", "/version", system.version),
    Route("GET", "/info", system.info),
    Route("GET", "/events", system.events),
    Route("GET", "/system/df", system.disk_usage),
    Route("GET", "/pyctr/jobs", system.jobs),
    Route("POST", "/auth", registry.auth),
    Route("GET", "/distribution/{name:.+}/json", registry.distribution),  # API 1.30

    # images
    Route("GET", "/images/json", images.list_images),
    Route("POST", "/images/prune", images.prune),
    Route("POST", "/images/create", images.create_image),  # fromSrc: import; fromImage: registry.pull
    Route("GET", "/images/search", registry.search),
    Route("GET", "/images/get", tarballs.save_many),
    Route("POST", "/images/load", tarballs.load),
    Route("GET", "/images/{name:.+}/json", images.inspect_image),
    Route("GET", "/images/{name:.+}/history", images.image_history),
    Route("POST", "/images/{name:.+}/tag", images.tag_image),
    Route("POST", "/images/{name:.+}/push", registry.push),
    Route("GET", "/images/{name:.+}/get", tarballs.save_one),
    Route("DELETE", "/images/{name:.+}", images.delete_image),
    Route("POST", "/build", build.build),
    Route("POST", "/build/prune", system.build_prune),  # API 1.31
    Route("POST", "/commit", tarballs.commit),

    # containers
    Route("GET", "/containers/json", containers.list_containers),
    Route("POST", "/containers/prune", containers.prune),
    Route("POST", "/containers/create", containers.create_container),
    Route("GET", "/containers/{name}/json", containers.inspect_container),
    Route("GET", "/containers/{name}/top", containers.top),
    Route("GET", "/containers/{name}/logs", containers.logs),
    Route("GET", "/containers/{name}/stats", stats.stats),
    Route("GET", "/containers/{name}/changes", tarballs.changes),
    Route("GET", "/containers/{name}/export", tarballs.export),
    Route("POST", "/containers/{name}/start", containers.start),
    Route("POST", "/containers/{name}/stop", containers.stop),
    Route("POST", "/containers/{name}/restart", containers.restart),
    Route("POST", "/containers/{name}/kill", containers.kill),
    Route("POST", "/containers/{name}/pause", containers.pause),
    Route("POST", "/containers/{name}/unpause", containers.unpause),
    Route("POST", "/containers/{name}/wait", containers.wait),
    Route("POST", "/containers/{name}/resize", containers.resize),
    Route("POST", "/containers/{name}/rename", containers.rename),
    Route("POST", "/containers/{name}/attach", containers.attach),
    Route("POST", "/containers/{name}/copy", tarballs.copy),
    Route("GET", "/containers/{name}/archive", tarballs.archive),  # HEAD: the path's stat alone
    Route("PUT", "/containers/{name}/archive", tarballs.put_archive),
    # A name, or a link ("/web/db", as `rm -l` sends it); no wider, or other paths would 405.
    Route("DELETE", r"/containers/{name:/?[^/]+(?:/[^/]+)?}", containers.remove),

    # exec (API 1.15+)
    Route("POST", "/containers/{name}/exec", exec.create),
    Route("POST", "/exec/{id}/start", exec.start),
    Route("POST", "/exec/{id}/resize", exec.resize),
    Route("GET", "/exec/{id}/json", exec.inspect),

    # volumes (API 1.21+)
    Route("GET", "/volumes", volumes.list_volumes),
    Route("POST", "/volumes/create", volumes.create),
    Route("POST", "/volumes/prune", volumes.prune),  # API 1.25
    Route("GET", "/volumes/{name}", volumes.inspect),
    Route("DELETE", "/volumes/{name}", volumes.remove),
    # networks (API 1.21+)
    Route("GET", "/networks", networks.list_networks),
    Route("POST", "/networks/create", networks.create_network),
    Route("POST", "/networks/prune", networks.prune),  # API 1.25
    Route("GET", "/networks/{id}", networks.inspect_network),
    Route("DELETE", "/networks/{id}", networks.remove_network),
    Route("POST", "/networks/{id}/connect", networks.connect),
    Route("POST", "/networks/{id}/disconnect", networks.disconnect),

    # later API families and verbs a Docker 1.2 engine has no counterpart for: 501 naming them
    Route("POST", "/containers/{name}/update", containers.update),
    *unsupported_families(),

    # a Docker engine in no swarm, with no plugins (API 1.24+)
    *swarm.swarm_routes(),
    *swarm.plugin_routes(),
]
