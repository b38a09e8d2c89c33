"""The per-facade Kafka service: created on first use, kept in ``pstt.state["kafka"]``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import KafkaService

_lock = threading.Lock()
STATE_KEY = "kafka"


def get_service(pstt: Any) -> KafkaService:
    """The facade's :class:`KafkaService` (closed by the plugin's ``pstt_shutdown``), following
    the facade's configuration when ``pstt serve`` re-read ``connections.json``."""
    service = pstt.state.get(STATE_KEY)
    if service is None:
        with _lock:
            service = pstt.state.get(STATE_KEY)
            if service is None:
                from .service import KafkaService

                service = pstt.state[STATE_KEY] = KafkaService(pstt)
    if service.config is not pstt.config:  # the service re-read connections.json
        service.follow(pstt.config)
    return service


def close_service(pstt: Any) -> None:
    service = pstt.state.pop(STATE_KEY, None)
    if service is not None:
        service.close()
