"""Health checks contributed by the core and by plugins."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from .plugin import PluginEnv

STATUSES = ("healthy", "degraded", "unhealthy", "not_configured")


@attrs.define
class HealthResult:
    status: str  # one of STATUSES
    detail: str = ""
    data: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class HealthCheck:
    """``check(env)`` (the plugin's :class:`~pstt_core.PluginEnv`) returns a
    :class:`HealthResult`; an exception counts as unhealthy."""

    name: str
    check: Callable[[PluginEnv], HealthResult]
    description: str = ""


def run_checks(checks: list[tuple[HealthCheck, PluginEnv]]) -> dict[str, Any]:
    """Run every check with its plugin's env; overall status is the worst of the configured
    ones."""
    results = []
    for hc, env in checks:
        t0 = time.perf_counter()
        try:
            res = hc.check(env)
        except Exception as exc:  # a broken check is reported, never raised
            res = HealthResult("unhealthy", f"{type(exc).__name__}: {exc}")
        results.append({"name": hc.name, "status": res.status, "detail": res.detail,
                        "data": res.data,
                        "duration_ms": round((time.perf_counter() - t0) * 1000, 2)})
    rank: dict[str, int] = {"healthy": 0, "not_configured": 0, "degraded": 1, "unhealthy": 2}
    worst = max((rank.get(str(r["status"]), 2) for r in results), default=0)
    overall = {0: "healthy", 1: "degraded", 2: "unhealthy"}[worst]
    return {"status": overall, "checks": results}
