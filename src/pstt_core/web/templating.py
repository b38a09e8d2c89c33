"""Jinja2 templates shared by core pages and plugin pages (which extend ``base.html``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

CORE_TEMPLATES = Path(__file__).parent / "templates"


def make_templates(extra_dirs: list[Path]) -> Jinja2Templates:
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader([CORE_TEMPLATES, *extra_dirs])])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(default=True))
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    """Render a page with the menu, the CSRF token and the app's globals in the context."""
    app_state = request.app.state
    ctx = {"nav": app_state.nav, "pstt": app_state.pstt, "csrf_token": getattr(request.state, "csrf_token", "")}
    ctx.update(context or {})
    return app_state.templates.TemplateResponse(request, name, ctx, status_code=status_code)
