"""Optional dependencies of sink types and formats: whether they are installed, and what to
say when they are not."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable


def missing_modules(requires: Iterable[str]) -> list[str]:
    return [name for name in requires if importlib.util.find_spec(name) is None]


def unavailable_reason(requires: Iterable[str], install_hint: str) -> str | None:
    """``None`` when every module is importable, else which are missing and how to install."""
    missing = missing_modules(requires)
    if not missing:
        return None
    return f"missing Python module(s) {', '.join(missing)}; install with: {install_hint}"
