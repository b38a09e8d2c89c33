"""Jinja2 templates shared by core pages and plugin pages (which extend ``base.html``).

Autoescaping is on for every template. ``render`` adds to the context: ``nav`` (menu),
``pstt`` (the facade), ``csrf_token``, ``root`` (the prefix the app is mounted under; put it
before every absolute link: ``{{ root }}/scheduler``), ``auth_enabled`` and ``sink_fields``
(sharing mode → the history fields its plugin declares) and ``file_modes`` (the modes whose
files can be downloaded from ``/runs/<export_id>/file``).
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from ..timefmt import format_schedule_time, format_time
from .csrf import ensure_csrf

CORE_TEMPLATES = Path(__file__).parent / "templates"


def make_templates(extra_dirs: list[Path], zone: tzinfo) -> Jinja2Templates:
    """The app's templates; times are shown in ``zone`` (``PSTT_DISPLAY_TIMEZONE``) by the
    filters ``when`` (``2026-01-21 08:00:00 CET``) and ``when_in(schedule_zone)`` (plus the
    schedule's own wall-clock time when its zone differs)."""
    loader = jinja2.FileSystemLoader([CORE_TEMPLATES, *extra_dirs])
    env = jinja2.Environment(loader=loader, autoescape=True)
    env.filters["when"] = lambda value: format_time(value, zone)
    env.filters["when_in"] = lambda value, schedule_zone: format_schedule_time(
        value, zone, schedule_zone)
    env.tests["set_in"] = lambda field, record: record.get(field) not in (None, "")
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """Render a page with the menu, the CSRF token and the app's globals in the context."""
    app_state = request.app.state
    ctx = {"nav": app_state.nav, "pstt": app_state.pstt,
           # created on the first page view, so API-only clients never get a cookie
           "csrf_token": ensure_csrf(request.session),
           "root": request.scope.get("root_path", ""),
           "auth_enabled": bool(app_state.pstt.settings["PSTT_API_TOKEN"]),
           "sink_fields": {name: list(st.history_fields)
                           for name, st in app_state.pstt.registry.sinks.items()},
           "file_modes": [name for name, st in app_state.pstt.registry.sinks.items()
                          if st.output_file is not None]}
    ctx.update(context or {})
    return app_state.templates.TemplateResponse(request, name, ctx, status_code=status_code)
