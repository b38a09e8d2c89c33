"""Helpers for the Kafka API and dashboard tests: a home wired to the test broker and a
client that sends the dashboard's CSRF token."""

from __future__ import annotations

from typing import Any

from tests.conftest import HomeBuilder, csrf, free_port
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
    client.headers.update(csrf(client, "/kafka"))
    return client
