"""Jinja2 templates shared by core pages and plugin pages (which extend ``base.html``).

Autoescaping is on for every template. ``render`` adds to the context: ``nav`` (menu),
``pstt`` (the facade), ``csrf_token``, ``root`` (the prefix the app is mounted under; put it
before every absolute link: ``{{ root }}/scheduler``), ``auth_enabled`` and ``sink_fields``
(sharing mode → the history fields its plugin declares).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .csrf import ensure_csrf

CORE_TEMPLATES = Path(__file__).parent / "templates"


def _when(value: Any) -> str:
    """ISO timestamp → ``2026-01-21 08:00:00 UTC`` (seconds precision) for tables."""
    if not value:
        return "—"
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return dt.strftime("%Y-%m-%d %H:%M:%S ") + (dt.tzname() or "")


def make_templates(extra_dirs: list[Path]) -> Jinja2Templates:
    loader = jinja2.FileSystemLoader([CORE_TEMPLATES, *extra_dirs])
    env = jinja2.Environment(loader=loader, autoescape=True)
    env.filters["when"] = _when
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
                           for name, st in app_state.pstt.registry.sinks.items()}}
    ctx.update(context or {})
    return app_state.templates.TemplateResponse(request, name, ctx, status_code=status_code)
