"""How a Kafka run fails fast and how the shared producer recovers.

* Before producing, the cluster must answer a metadata request for the topic within
  ``KAFKA_TIMEOUT_MS`` (:func:`check_cluster`); "all brokers down" (a refused connection)
  fails at once instead of waiting for the whole timeout.
* While producing, a cluster that stops acknowledging makes the run give up after
  ``KAFKA_TIMEOUT_MS`` without a single delivery report (:class:`StallWatch`), instead of
  waiting ``KAFKA_DELIVERY_TIMEOUT_MS`` each time the local queue fills.
* A producer that hit a fatal error (e.g. the cluster lost its producer id) or stalled is
  *broken*: the pool does not hand it out again and builds a new one (``pool.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pstt_core import SinkError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .producer import ProducerHandle
    from .publish import Publisher

# librdkafka's error codes (confluent_kafka.KafkaError), kept here to test without importing it.
ALL_BROKERS_DOWN = -187
UNKNOWN_TOPIC_OR_PART = 3
# The answer to a metadata request is awaited in slices, so that "all brokers down" is seen
# as soon as librdkafka reports it.
SLICE_SEC = 0.2


class ClusterUnavailable(SinkError):
    """The cluster did not answer (or refused the topic) before any message was produced."""

    def __init__(self, message: str):
        super().__init__(message, transient=True)


class ClusterStalled(SinkError):
    """The cluster stopped acknowledging messages mid-run."""

    def __init__(self, message: str):
        super().__init__(message, transient=True)


def check_cluster(handle: ProducerHandle, topic: str, timeout: float) -> None:
    """Raise :class:`ClusterUnavailable` unless the cluster answers with metadata for
    ``topic`` (existing, or created by the broker on request) within ``timeout`` seconds."""
    from confluent_kafka import KafkaException

    started = time.monotonic()
    deadline = started + timeout
    problem = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            meta = handle.producer.list_topics(topic, timeout=min(SLICE_SEC, left))
        except KafkaException as exc:
            problem = str(exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else exc)
        else:
            found = meta.topics.get(topic)
            error = getattr(found, "error", None) if found is not None else None
            if found is not None and error is None and found.partitions:
                handle.last_ok = time.monotonic()
                return
            if error is not None and error.code() == UNKNOWN_TOPIC_OR_PART:
                raise ClusterUnavailable(
                    f"topic {topic!r} does not exist on Kafka connection {handle.name!r} and "
                    "the cluster does not create topics on request "
                    "(auto.create.topics.enable=false): create it first")
            problem = error.str() if error is not None else "the topic has no partitions yet"
        down = _still_down(handle, started)
        if down:
            raise ClusterUnavailable(_unavailable(handle, time.monotonic() - started, down))
        if handle.broken:
            raise ClusterUnavailable(f"Kafka connection {handle.name!r}: {handle.broken}")
    detail = handle.errors.since(started)
    raise ClusterUnavailable(
        f"Kafka connection {handle.name!r} did not answer a metadata request for topic "
        f"{topic!r} within {timeout:g} s (KAFKA_TIMEOUT_MS): {problem}"
        + (f"; last client error: {detail}" if detail and detail != problem else ""))


def _still_down(handle: ProducerHandle, started: float) -> str | None:
    """librdkafka's "all brokers are down" since the producer last reached the cluster, while
    connections still fail now (a cluster just back up, which the producer has not tried
    again yet, is waited for)."""
    down = handle.errors.all_down_since(handle.last_ok)
    if down and handle.errors.cause_since(started - 1.0):
        return down
    return None


def ready_publisher(make: Callable[[], Publisher], topic: str, timeout: float) -> Publisher:
    """A publisher whose cluster answered for ``topic``; a producer found broken during the
    check (a fatal error) is replaced once, so this run does not fail for nothing."""
    pub = make()
    try:
        check_cluster(pub.handle, topic, timeout)
    except ClusterUnavailable:
        if not pub.handle.broken:
            raise
        pub = make()
        check_cluster(pub.handle, topic, timeout)
    return pub


def _unavailable(handle: ProducerHandle, waited: float, down: str) -> str:
    detail = handle.errors.cause_since(time.monotonic() - waited - 1.0)
    servers = handle.config.get("bootstrap.servers", "")
    text = f"Kafka connection {handle.name!r} is unavailable ({down}"
    if detail and detail != down:
        text += f"; {detail}"
    return text + f"; bootstrap servers {servers}); nothing was produced"


class StallWatch:
    """Notices a cluster that stopped acknowledging: no delivery report for ``limit`` s while
    messages are outstanding."""

    __slots__ = ("limit", "seen", "since")

    def __init__(self, limit: float):
        self.limit = limit
        self.seen = -1
        self.since = 0.0

    def stalled(self, reported: int) -> bool:
        """Called while waiting, with the number of reports so far."""
        now = time.monotonic()
        if reported != self.seen:
            self.seen, self.since = reported, now
            return False
        return now - self.since > self.limit


def is_fatal(err: Any) -> bool:
    """A client error after which the producer cannot be used again."""
    try:
        return bool(err.fatal())
    except AttributeError:
        return False
