"""Web contributions of the Kafka plugin: the ``/api/kafka`` routes, the ``/kafka`` page, its
menu link, templates and static files (Chart.js is vendored, never loaded from a CDN)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pstt_core import hookimpl
from pstt_core.web.nav import NavLink

if TYPE_CHECKING:
    from pstt_core import Pstt

HERE = Path(__file__).parent


@hookimpl
def register_routes(register: Callable[[Any], None], pstt: Pstt) -> None:
    from .api import api_mount
    from .pages import dashboard_route

    register(api_mount(pstt))
    register(dashboard_route(pstt))


@hookimpl
def register_nav_links(register: Callable[[Any], None]) -> None:
    register(NavLink("Kafka", "/kafka", order=50))


@hookimpl
def register_template_dirs(register: Callable[[Any], None]) -> None:
    register(HERE / "templates")


@hookimpl
def register_static_dirs(register: Callable[[str, Any], None]) -> None:
    register("kafka", HERE / "static")
