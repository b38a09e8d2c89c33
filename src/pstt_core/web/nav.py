"""Menu entries (core pages and the ones plugins add with ``register_nav_links``)."""

from __future__ import annotations

import attrs


@attrs.frozen
class NavLink:
    label: str
    path: str
    order: int = 100
