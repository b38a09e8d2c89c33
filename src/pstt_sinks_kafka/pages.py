"""The ``/kafka`` dashboard page. Its figures are loaded by ``kafka-dashboard.js`` from the API,
so the page itself only needs the connection list and what to say when Kafka is not set up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pstt_core.web.templating import render

from .api import INSTALL_HINT, MAX_BATCH_MESSAGES, SECTION, configured, kafka_installed

if TYPE_CHECKING:
    from pstt_core import Pstt


def _connections(pstt: Pstt) -> list[dict[str, Any]]:
    """Name, label and brokers of each connection; never a secret field."""
    out = []
    for name, entry in pstt.config.section(SECTION).items():
        servers = getattr(entry, "bootstrap_servers", []) or []
        out.append({"name": name,
                    "display_name": getattr(entry, "display_name", "") or name,
                    "bootstrap_servers": ", ".join(servers) if isinstance(servers, list) else servers,
                    "security_protocol": getattr(entry, "security_protocol", ""),
                    "description": getattr(entry, "description", "") or ""})
    return out


def dashboard_route(pstt: Pstt) -> Route:
    async def dashboard(request: Request) -> Response:
        batch_default = pstt.settings.get("KAFKA_BATCH_SIZE", 100)
        return render(request, "kafka/dashboard.html", {
            "kafka_installed": kafka_installed(),
            "kafka_configured": configured(pstt),
            "install_hint": INSTALL_HINT,
            "connections": _connections(pstt),
            "max_batch_messages": MAX_BATCH_MESSAGES,
            "batch_size_default": batch_default,
        })

    return Route("/kafka", dashboard, methods=["GET"], name="kafka_dashboard")
