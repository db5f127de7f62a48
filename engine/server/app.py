"""The API server's aiohttp application: the route table (routes.py) on the
router's middleware (router.py), with the engine its handlers run jobs on."""

from __future__ import annotations

from aiohttp import web

from ..jobs import Engine
from .router import ENGINE, add_routes, api_middleware, mark_response_started
from .routes import ROUTES


def build_app(engine: Engine) -> web.Application:
    app = web.Application(middlewares=[api_middleware], client_max_size=0)
    app[ENGINE] = engine
    app.on_response_prepare.append(mark_response_started)
    add_routes(app, ROUTES)
    return app
