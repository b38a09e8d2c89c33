"""All-or-nothing Kafka runs (``sink_options.delivery: "transactional"``): one Kafka
transaction per run on a producer whose ``transactional.id`` is derived from the schedule
(``pstt.<schedule id>``), so that starting it fences a zombie of an earlier run. The
transaction is committed once every message is acknowledged and the result gates passed;
any failure, timeout, interruption or failed gate aborts it. Consumers see only committed
runs when they read with ``isolation.level=read_committed``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pstt_core import SinkError

from .producer import error_text

if TYPE_CHECKING:
    from .publish import Publisher

log = logging.getLogger("pstt.kafka")


def transactional_id(schedule_id: str) -> str:
    return f"pstt.{schedule_id}"


class Transaction:
    """The run's transaction: ``state`` is ``open``, ``committed`` or ``aborted``."""

    def __init__(self, pub: Publisher, timeout: float):
        from confluent_kafka import KafkaException

        self.pub, self.timeout = pub, timeout
        try:
            pub.handle.producer.begin_transaction()
        except KafkaException as exc:
            raise SinkError(f"could not begin a Kafka transaction: {error_text(exc)}",
                            transient=True) from None
        self.state = "open"

    def commit(self) -> str | None:
        """Commit; ``None`` on success, else why it was aborted instead."""
        from confluent_kafka import KafkaException

        if self.pub.failed:
            return self.abort(f"{self.pub.failed} message(s) not acknowledged")
        try:
            self.pub.handle.producer.commit_transaction(self.timeout)
        except KafkaException as exc:
            return self.abort(f"commit failed: {error_text(exc)}")
        self.state = "committed"
        return None

    def abort(self, why: str) -> str:
        """Abort (once); returns ``why`` for the record."""
        from confluent_kafka import KafkaException

        if self.state != "open":
            return why
        self.state = "aborted"
        try:
            self.pub.handle.producer.abort_transaction(self.timeout)
        except KafkaException as exc:  # e.g. fenced: the producer cannot be used again
            self.pub.handle.mark_broken(f"transaction abort failed: {error_text(exc)}")
            log.warning("kafka transaction abort failed: %s", error_text(exc))
        return why
