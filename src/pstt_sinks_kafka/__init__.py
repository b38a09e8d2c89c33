"""Placeholder: implemented in its own issue."""
from .web_hooks import register_nav_links, register_routes, register_static_dirs, register_template_dirs  # noqa: F401
