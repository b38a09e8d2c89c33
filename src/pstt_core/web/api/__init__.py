"""The JSON API under ``/api``: one module per area, each exporting ``routes``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import connections, preview, runs, schedules, system


def routes() -> list[BaseRoute]:
    return [*schedules.routes, *runs.routes, *system.routes, *connections.routes, *preview.routes]
