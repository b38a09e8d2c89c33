"""Helpers for the Kafka API and dashboard tests: a home wired to the test broker, and the
app under a real uvicorn server on a free port."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pstt_core import Pstt
from tests.conftest import HomeBuilder, free_port
from tests.sinks_kafka.conftest import kafka_home

# Settings that keep a test with an unreachable broker short (health/test timeouts).
FAST_ENV = {"PSTT_SCHEDULER_ENABLED": "false", "KAFKA_HEALTH_CHECK_TIMEOUT_MS": "1500",
            "KAFKA_TEST_TIMEOUT_MS": "1500", "KAFKA_TIMEOUT_MS": "3000",
            "KAFKA_DELIVERY_TIMEOUT_MS": "2000", "KAFKA_REQUEST_TIMEOUT_MS": "1500"}


def dashboard_home(home: HomeBuilder, bootstrap: str, *, down: bool = True,
                   secret: bool = False) -> HomeBuilder:
    """``local`` points at the test broker; ``down`` at a closed port; ``secured`` carries a
    ``${VAR}`` password that must never be shown."""
    kafka_home(home, bootstrap, display_name="Local broker", description="tansu test broker")
    conns = home.connections["kafka_connections"]
    if down:
        conns.append({"name": "down", "bootstrap_servers": [f"127.0.0.1:{free_port()}"],
                      "security_protocol": "PLAINTEXT"})
    if secret:
        conns.append({"name": "secured", "bootstrap_servers": ["127.0.0.1:1"],
                      "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_username": "pstt", "sasl_password": "${KAFKA_TEST_SECRET}"})
    return home


def with_csrf(client: Any) -> Any:
    """Act like the dashboard: load ``/kafka`` (which sets the session cookie) and send its
    CSRF token with every request, as the middleware asks of cookie-carrying clients."""
    page = client.get("/kafka")
    assert page.status_code == 200, page.text
    token = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text)
    assert token and token.group(1), "the page carries no CSRF token"
    client.headers["X-CSRF-Token"] = token.group(1)
    return client


@contextmanager
def live_server(pstt: Pstt) -> Iterator[str]:
    """Serve ``pstt.asgi_app()`` with uvicorn in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(pstt.asgi_app(), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
