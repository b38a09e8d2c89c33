"""Build the Starlette app for a facade. (Skeleton: pages and API arrive with the web issue.)"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from ..registry import call_register_hook
from .nav import NavLink
from .templating import make_templates

if TYPE_CHECKING:
    from ..facade import Pstt

STATIC = Path(__file__).parent / "static"


def create_app(pstt: Pstt) -> Starlette:
    routes: list[BaseRoute] = []
    nav: list[NavLink] = []
    template_dirs: list[Path] = []
    static: list[BaseRoute] = [Mount("/static/pstt", app=StaticFiles(directory=STATIC), name="static")]

    def add_route(plugin: str, route: Any) -> None:
        routes.append(route)

    def add_static(plugin: str, item: Any) -> None:
        name, directory = item
        static.append(Mount(f"/static/{name}", app=StaticFiles(directory=directory)))

    call_register_hook(pstt.pm, "register_routes", add_route, pstt=pstt)
    call_register_hook(pstt.pm, "register_nav_links", lambda p, link: nav.append(link))
    call_register_hook(pstt.pm, "register_template_dirs", lambda p, d: template_dirs.append(Path(d)))
    call_register_hook(pstt.pm, "register_static_dirs", add_static)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pstt.start()
        try:
            yield
        finally:
            pstt.stop()

    app = Starlette(routes=[*routes, *static], lifespan=lifespan)
    app.state.pstt = pstt
    app.state.nav = sorted(nav, key=lambda n: n.order)
    app.state.templates = make_templates(template_dirs)
    return app
