"""The thin Starlette layer: routes list, Jinja2 templates, static files, lifespan.

What plugin pages and APIs use is exported here (a plugin imports only ``pstt_core`` and
``pstt_core.web``): :class:`NavLink` for ``register_nav_links``, :func:`render` for pages that
extend the core ``base.html``, and :func:`error` / :func:`json_body` for JSON handlers that
answer ``{"error": …}`` with a 4xx status, and :class:`SharedResult` for a health endpoint
whose checks must not run once per caller (``PSTT_HEALTH_CACHE_SEC``).
"""

from __future__ import annotations

from .health import SharedResult
from .nav import NavLink
from .responses import UnsupportedMediaType, error, json_body
from .templating import render

__all__ = ["NavLink", "SharedResult", "UnsupportedMediaType", "error", "json_body", "render"]
