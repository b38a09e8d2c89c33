"""Run the app under uvicorn (``pstt serve``)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..facade import Pstt


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve to anything: treat it as public


def check_bind(host: str, token: str) -> None:
    """Refuse a non-loopback bind without a token (→ exit code 2 from the CLI)."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host!r} without authentication: set PSTT_API_TOKEN "
            "(in <home>/.env or the environment) or bind to 127.0.0.1", path="PSTT_API_TOKEN")


def serve(pstt: Pstt, host: str, port: int) -> None:
    import uvicorn

    check_bind(host, pstt.settings["PSTT_API_TOKEN"])
    uvicorn.run(pstt.asgi_app(), host=host, port=port, log_level="warning",
                proxy_headers=True, timeout_graceful_shutdown=30)
