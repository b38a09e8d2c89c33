"""Batch publishing: produce everything without waiting, count every delivery report.

Messages are grouped in chunks of ``chunk_size`` (``kafka_batch_size``). A chunk is the unit
of accounting — each has its own delivery callback and counters — not a stop-and-wait: the
producer's pipeline stays full and the caller waits only once, at the end.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from .deadletter import letter
from .failures import StallWatch
from .models import BatchResult
from .producer import ProducerHandle, error_text

# The first 64 deliveries, then one in 8, give latency samples (the average is estimated
# from the same samples).
LATENCY_STRIDE_MASK = 7


# Time the purged messages' reports may take to arrive after giving up on the cluster.
PURGE_GRACE_SEC = 5.0


class _Stalled(Exception):
    """Producing stopped at ``index`` of the values being added."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


class Chunk:
    """Delivery callback of one chunk of messages."""

    __slots__ = ("index", "pub", "produced", "failed")

    def __init__(self, index: int, pub: Publisher):
        self.index = index
        self.pub = pub
        self.produced = 0
        self.failed = 0

    def __call__(self, err: Any, msg: Any) -> None:
        # Runs for every message, in the producer's poll thread only: kept minimal.
        pub = self.pub
        if pub.frozen:  # counted as failed when the wait gave up; never turn into "sent"
            return
        if err is None:
            pub.sent += 1
            if pub.sent <= 64 or not pub.sent & LATENCY_STRIDE_MASK:
                pub.record_latency(msg.latency())
            return
        with pub.lock:
            self.failed += 1
            pub.failed += 1
            value = msg.value()
            pub.failed_bytes += len(value) if value else 0
            text = err.str()
            pub.errors[text] = pub.errors.get(text, 0) + 1
            pub.failed_chunks.add(self.index)
            if pub.dead is not None:
                pub.dead.append(letter(msg.key(), value, msg.headers(), msg.partition(), text))


class Publisher:
    """Produces one stream of messages to one topic and accounts for their reports."""

    def __init__(self, handle: ProducerHandle, topic: str, chunk_size: int = 100,
                 samples: int = 1000, stall_timeout: float = 30.0):
        self.handle = handle
        # Why producing stopped (the cluster stopped answering), once it did.
        self.stopped: str | None = None
        # The undelivered messages themselves, when the run keeps dead letters (else None).
        self.dead: list[dict[str, Any]] | None = None
        self.stall = StallWatch(stall_timeout)
        self.started_at = time.monotonic()
        self.topic = topic
        self.chunk_size = max(1, chunk_size)
        self.lock = threading.Lock()
        self.produced = self.sent = self.failed = 0
        self.bytes = self.failed_bytes = 0
        self.errors: dict[str, int] = {}
        self.frozen = False
        self.failed_chunks: set[int] = set()
        self.chunks = 0
        self.latency_sum_ms = 0.0
        self.latency_count = 0
        self.samples: list[float] = []
        self.sample_size = samples
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.chunk = self._new_chunk()

    def _new_chunk(self) -> Chunk:
        self.chunks += 1
        return Chunk(self.chunks, self)

    def record_latency(self, seconds: float | None) -> None:
        """Running sum plus a uniform reservoir of samples (poll thread only)."""
        if seconds is None:
            return
        ms = seconds * 1000.0
        self.latency_sum_ms += ms
        self.latency_count += 1
        if len(self.samples) < self.sample_size:
            self.samples.append(ms)
        elif random.random() * self.latency_count < self.sample_size:
            self.samples[random.randrange(self.sample_size)] = ms

    def add(self, value: bytes, key: bytes | None = None, headers: Any = None) -> None:
        self.add_many([value], [key], headers)

    def refused(self, chunk: Chunk, exc: Exception, value: bytes, key: bytes | None = None,
                headers: Any = None) -> None:
        """``produce()`` refused one message at once (e.g. larger than message.max.bytes):
        it counts as produced and failed; the others go on."""
        text = error_text(exc)
        with self.lock:
            chunk.failed += 1
            self.failed += 1
            self.failed_bytes += len(value)
            self.errors[text] = self.errors.get(text, 0) + 1
            self.failed_chunks.add(chunk.index)
            if self.dead is not None:
                self.dead.append(letter(key, value, headers, None, text))

    def add_many(self, values: list[bytes], keys: list[bytes | None] | None = None,
                 headers: Any = None) -> None:
        """The hot path: produce ``values`` (with ``keys``) without waiting, chunk by chunk.

        Every value is counted in ``produced``: the ones never produced because the cluster
        stopped answering (see :attr:`stopped`) are counted as failed at once."""
        n = len(values)
        try:
            self._produce_all(values, keys, headers, n)
        except _Stalled as stop:
            self._not_produced(values, keys, stop.index, headers)
        self.produced += n
        self.bytes += sum(map(len, values))
        if keys is not None:
            self.bytes += sum(map(len, filter(None, keys)))

    def _produce_all(self, values: list[bytes], keys: list[bytes | None] | None,
                     headers: Any, n: int) -> None:
        from confluent_kafka import KafkaException

        produce = self.handle.producer.produce
        topic, size = self.topic, self.chunk_size
        done = 0
        if self.stopped:
            raise _Stalled(0)
        while done < n:
            chunk = self.chunk
            room = size - chunk.produced
            if room <= 0:
                chunk = self.chunk = self._new_chunk()
                room = size
            part = values[done:done + room]
            kpart = keys[done:done + room] if keys is not None else [None] * len(part)
            for value, key in zip(part, kpart, strict=True):
                while True:
                    try:
                        if headers is None:  # positional: cheaper than keywords per call
                            produce(topic, value, key, -1, chunk)
                        else:
                            produce(topic, value, key, on_delivery=chunk, headers=headers)
                    except BufferError:  # local queue full: the poll thread makes room
                        self._wait_for_room(done, part, value)
                        continue
                    except KafkaException as exc:
                        self.refused(chunk, exc, value, key, headers)
                    break
            chunk.produced += len(part)
            done += len(part)

    def _wait_for_room(self, done: int, part: list[bytes], value: bytes) -> None:
        """Wait for the poll thread to make room, unless the cluster stopped answering."""
        if self.stall.stalled(self.reported):
            index = done + next(i for i, v in enumerate(part) if v is value)
            self._give_up()
            raise _Stalled(index)
        time.sleep(0.002)

    def _give_up(self) -> None:
        if self.stopped is None:
            self.stopped = (f"the Kafka cluster stopped answering: no delivery report for "
                            f"{self.stall.limit:g} s (KAFKA_TIMEOUT_MS)")
            last = self.handle.errors.since(self.started_at)
            if last:
                self.stopped += f"; last client error: {last}"
            self.handle.give_up(self.stopped)

    def _not_produced(self, values: list[bytes], keys: list[bytes | None] | None,
                      start: int, headers: Any = None) -> None:
        """Messages from ``start`` on were never produced: counted as failed."""
        missing = len(values) - start
        if not missing:
            return
        text = "not produced: the cluster stopped answering"
        with self.lock:
            self.failed += missing
            self.failed_bytes += sum(map(len, values[start:]))
            if keys is not None:
                self.failed_bytes += sum(map(len, filter(None, keys[start:])))
            self.errors[text] = self.errors.get(text, 0) + missing
            self.failed_chunks.add(self.chunk.index)
            if self.dead is not None:
                rest = keys[start:] if keys is not None else [None] * missing
                self.dead.extend(letter(k, v, headers, None, text)
                                 for v, k in zip(values[start:], rest, strict=True))

    @property
    def reported(self) -> int:
        return self.sent + self.failed

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every produced message has a delivery report.

        Bounded by the producer's delivery timeout (librdkafka reports every message by then)
        plus a margin, and by the stall limit (``KAFKA_TIMEOUT_MS`` without any report: the
        producer purges what is outstanding, so those reports come at once); messages still
        unreported after that are counted as failed.
        """
        if timeout is None:
            timeout = self.handle.delivery_timeout_ms / 1000.0 + 5.0
        deadline = time.monotonic() + timeout
        while self.reported < self.produced:
            if self.stall.stalled(self.reported) and self.stopped is None:
                self._give_up()
                deadline = min(deadline, time.monotonic() + PURGE_GRACE_SEC)
            if time.monotonic() > deadline:
                missing = self.produced - self.reported
                with self.lock:
                    self.failed += missing
                    text = f"no delivery report within {timeout:g} s"
                    self.errors[text] = self.errors.get(text, 0) + missing
                    self.frozen = True
                break
            time.sleep(0.002)
        self.finished = time.perf_counter()
        return self.failed == 0

    @property
    def duration_sec(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def sent_bytes(self) -> int:
        return max(0, self.bytes - self.failed_bytes)

    def error_texts(self, limit: int = 10) -> list[str]:
        ordered = sorted(self.errors.items(), key=lambda kv: -kv[1])
        return [f"{text} ({count} message(s))" for text, count in ordered[:limit]]

    def result(self) -> BatchResult:
        return BatchResult(total=self.produced, sent=self.sent, failed=self.failed,
                           duration_sec=self.duration_sec, errors=self.error_texts())
