"""Web contributions of the Kafka plugin: the ``/api/kafka`` routes, the ``/kafka`` page, its
menu link, templates and static files (Chart.js is vendored, never loaded from a CDN)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pstt_core import PluginEnv, hookimpl

if TYPE_CHECKING:  # the web stack is imported when the app is built, not by ``pstt run``
    from starlette.routing import BaseRoute

    from pstt_core.web import NavLink

HERE = Path(__file__).parent


@hookimpl
def register_routes(register: Callable[[BaseRoute], None], env: PluginEnv) -> None:
    from .api import api_mount
    from .pages import dashboard_route

    register(api_mount(env))
    register(dashboard_route(env))


@hookimpl
def register_nav_links(register: Callable[[NavLink], None]) -> None:
    from pstt_core.web import NavLink

    register(NavLink("Kafka", "/kafka", order=50))


@hookimpl
def register_template_dirs(register: Callable[[str | os.PathLike[str]], None]) -> None:
    register(HERE / "templates")


@hookimpl
def register_static_dirs(register: Callable[[str, str | os.PathLike[str]], None]) -> None:
    register("kafka", HERE / "static")
