"""Build the Starlette app for a facade: one ``routes`` list, middleware, lifespan.

Core routes come first, plugin routes (checked for collisions in :mod:`.contrib`) after,
static directories last. The lifespan starts and stops the facade; when the app is mounted
inside another application, run its lifespan from the outer one (see docs/API.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from . import api, auth, metrics, openapi, pages, scheduler_pages
from .auth import session_secret
from .contrib import collect
from .errors import HANDLERS
from .hosts import AllowedHosts
from .middleware import BodyLimit, Guard, HostCheck, LogToHome
from .templating import make_templates

if TYPE_CHECKING:
    from ..facade import Pstt

STATIC = Path(__file__).parent / "static"


def core_routes() -> list[BaseRoute]:
    return [*api.routes(), *openapi.routes, *metrics.routes, *auth.routes, *pages.routes,
            *scheduler_pages.routes,
            Mount("/static/pstt", app=StaticFiles(directory=STATIC), name="static")]


def create_app(pstt: Pstt) -> Starlette:
    core = core_routes()
    extra = collect(pstt, core, pages.CORE_NAV)
    settings = pstt.settings
    token = settings["PSTT_API_TOKEN"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(pstt.start)
        try:
            yield
        finally:
            await run_in_threadpool(pstt.stop)

    hosts = AllowedHosts(settings["PSTT_ALLOWED_HOSTS"])
    hosts.add_bind(settings["PSTT_HOST"])
    middleware = [
        Middleware(LogToHome, logs=pstt.home.logs),
        Middleware(HostCheck, hosts=hosts),
        Middleware(BodyLimit, limit=settings["PSTT_MAX_REQUEST_BYTES"]),
        Middleware(SessionMiddleware, secret_key=session_secret(settings["PSTT_SECRET_KEY"], token),
                   session_cookie="pstt_session", same_site="lax", max_age=12 * 3600),
        Middleware(Guard, token=lambda: token),
    ]
    app = Starlette(routes=[*core, *extra.routes, *extra.static], middleware=middleware,
                    exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.pstt = pstt
    app.state.allowed_hosts = hosts  # `pstt serve --host` adds its bind address
    app.state.nav = sorted([*pages.CORE_NAV, *extra.nav], key=lambda n: (n.order, n.label))
    app.state.templates = make_templates(extra.template_dirs, pstt.display_zone)
    app.state.metrics = metrics.build_registry(pstt)
    app.state.plugin_routes = extra.routes
    return app
