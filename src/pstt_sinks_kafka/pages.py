"""The ``/kafka`` dashboard page. Its figures are loaded by ``kafka-dashboard.js`` from the API,
so the page itself only needs the connection list and what to say when Kafka is not set up."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pstt_core import PluginEnv
from pstt_core.web import render

from .api import INSTALL_HINT, MAX_BATCH_MESSAGES, configured, kafka_installed
from .models import SECTION


def _connections(env: PluginEnv) -> list[dict[str, Any]]:
    """Name, label and brokers of each connection; never a secret field."""
    out = []
    for name, entry in env.section(SECTION).items():
        servers = getattr(entry, "bootstrap_servers", []) or []
        out.append({"name": name,
                    "display_name": getattr(entry, "display_name", "") or name,
                    "bootstrap_servers": ", ".join(servers) if isinstance(servers, list) else servers,
                    "security_protocol": getattr(entry, "security_protocol", ""),
                    "description": getattr(entry, "description", "") or ""})
    return out


def dashboard_route(env: PluginEnv) -> Route:
    async def dashboard(request: Request) -> Response:
        batch_default = env.settings.get("KAFKA_BATCH_SIZE", 100)
        return render(request, "kafka/dashboard.html", {
            "kafka_installed": kafka_installed(),
            "kafka_configured": configured(env),
            "install_hint": INSTALL_HINT,
            "connections": _connections(env),
            "max_batch_messages": MAX_BATCH_MESSAGES,
            "batch_size_default": batch_default,
        })

    return Route("/kafka", dashboard, methods=["GET"], name="kafka_dashboard")
