"""Dead letters: each message of a run that Kafka did not take is kept — in a JSON Lines file
or on another topic — with its key, value, headers, partition (when known), the error and the
export_id, so that exactly those rows can be re-sent (``pstt kafka replay``) instead of the
whole run.

``sink_options.dead_letter``: ``{"file": true}`` writes
``<export root>/dead_letter/<schedule id>/<export_id>.jsonl``; ``{"topic": "orders.dlq",
"connection": "kafka-dev"}`` publishes them there (``connection`` defaults to the schedule's).

Kept in the Kafka plugin: only a sink that delivers row by row has "the rows that failed";
a file or e-mail run fails as a whole.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pstt_core import ConfigError, atomic_write_bytes, slugify

from .models import validate_topic

if TYPE_CHECKING:
    from pstt_core import PluginEnv

    from .pool import ProducerPool

DIRECTORY = "dead_letter"
# Reading a dead-letter topic ends after this long without a message.
IDLE_SEC = 3.0
# Headers added to a message published to a dead-letter topic.
H_ERROR, H_EXPORT, H_TOPIC = "x-pstt-error", "x-pstt-export-id", "x-pstt-source-topic"


def validate(option: dict[str, Any] | None, connections: Any) -> None:
    """Check ``sink_options.dead_letter`` (``ConfigError`` with the path inside it)."""
    if option is None:
        return
    unknown = set(option) - {"file", "topic", "connection"}
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))}; use "
                          '{"file": true} or {"topic": …, "connection": …}', path="dead_letter")
    to_file, topic = option.get("file"), option.get("topic")
    if to_file not in (None, True, False):
        raise ConfigError("must be true or false", path="dead_letter.file")
    if bool(to_file) == bool(topic):
        raise ConfigError('set either {"file": true} or {"topic": "…"}', path="dead_letter")
    if topic:
        validate_topic(topic, "dead_letter.topic")
        conn = option.get("connection")
        if conn is not None and conn not in connections:
            known = ", ".join(sorted(connections)) or "none"
            raise ConfigError(f"unknown Kafka connection {conn!r}; configured: {known}",
                              path="dead_letter.connection")


def letter(key: bytes | None, value: bytes | None, headers: Any, partition: int | None,
           error: str) -> dict[str, Any]:
    """One dead letter, as kept in memory until the run ends."""
    return {"key": key, "value": value, "headers": list(headers or []),
            "partition": partition if partition is not None and partition >= 0 else None,
            "error": error}


def _text(raw: bytes | None, field: str, out: dict[str, Any]) -> None:
    if raw is None:
        out[field] = None
        return
    try:
        out[field] = raw.decode("utf-8")
    except UnicodeDecodeError:
        out[field + "_base64"] = base64.b64encode(raw).decode("ascii")


def to_json(item: dict[str, Any], export_id: str, topic: str) -> dict[str, Any]:
    out: dict[str, Any] = {"export_id": export_id, "topic": topic}
    _text(item["key"], "key", out)
    _text(item["value"], "value", out)
    headers = []
    for name, raw in item["headers"]:
        h: dict[str, Any] = {"name": name}
        _text(raw if isinstance(raw, bytes) or raw is None else str(raw).encode(), "value", h)
        headers.append(h)
    out.update(headers=headers, partition=item["partition"], error=item["error"])
    return out


def from_json(line: dict[str, Any]) -> tuple[bytes | None, bytes | None, list[Any]]:
    """Key, value and headers of a dead letter read back from a file."""
    def raw(obj: dict[str, Any], field: str) -> bytes | None:
        if obj.get(field + "_base64") is not None:
            return base64.b64decode(obj[field + "_base64"])
        value = obj.get(field)
        return None if value is None else str(value).encode("utf-8")

    headers = [(str(h["name"]), raw(h, "value")) for h in line.get("headers") or []]
    return raw(line, "key"), raw(line, "value"), headers


def write_file(env: PluginEnv, schedule_id: str, export_id: str, topic: str,
               letters: list[dict[str, Any]]) -> str:
    """The JSON Lines file of a run's dead letters, written atomically; its path relative to
    the export root."""
    rel = Path(DIRECTORY) / slugify(schedule_id) / f"{export_id}.jsonl"
    path = env.export_root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(to_json(item, export_id, topic), ensure_ascii=False) + "\n"
                   for item in letters)
    atomic_write_bytes(path, body.encode("utf-8"))
    return rel.as_posix()


def publish(pool: ProducerPool, connection: str, topic: str, export_id: str, source_topic: str,
            letters: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Publish the letters to a dead-letter topic; (acknowledged, error texts)."""
    pub = pool.publisher(connection, topic)
    for item in letters:
        headers = [*item["headers"], (H_ERROR, item["error"].encode("utf-8")),
                   (H_EXPORT, export_id.encode()), (H_TOPIC, source_topic.encode())]
        pub.add(item["value"] or b"", item["key"], headers)
    pub.wait()
    return pub.sent, pub.error_texts(3)


def read_file(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise ConfigError(f"line {n} is not JSON: {exc}", file=str(path)) from None



def read_topic(pool: ProducerPool, connection: str, topic: str,
               timeout: float) -> Iterator[tuple[bytes | None, bytes | None, list[Any]]]:
    """Every message on a dead-letter topic (all partitions, from the beginning until no new
    message came for ``IDLE_SEC``), as key, value and original headers (PSTT's ``x-pstt-*``
    ones removed)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from .producer import security_properties

    conf = {**security_properties(pool.connection(connection)),
            "group.id": f"pstt-replay-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
            "log_level": 2}
    consumer = Consumer(conf)
    try:
        meta = consumer.list_topics(topic, timeout=timeout)
        found = meta.topics.get(topic)
        if found is None or found.error is not None:
            raise ConfigError(f"topic {topic!r} not found on Kafka connection {connection!r}")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in found.partitions])
        # Read until the topic is quiet for IDLE_SEC: end offsets are not a reliable bound on
        # every Kafka-protocol broker (docs/KAFKA_TANSU_NOTES.md).
        idle_since = time.monotonic()
        while time.monotonic() - idle_since <= min(timeout, IDLE_SEC):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            idle_since = time.monotonic()
            if msg.error():
                continue
            raw_headers: Any = msg.headers() or []
            headers = [(k, v) for k, v in raw_headers if not k.startswith("x-pstt-")]
            yield msg.key(), msg.value(), headers
    finally:
        consumer.close()


def replay(pool: ProducerPool, messages: Iterator[tuple[bytes | None, bytes | None, list[Any]]],
           connection: str, topic: str) -> dict[str, Any]:
    """Re-send dead letters to ``connection:topic``; the counts and the first errors."""
    validate_topic(topic, "--to")
    pub = pool.publisher(connection, topic)
    read = 0
    for key, value, headers in messages:
        pub.add(value or b"", key, headers or None)
        read += 1
    pub.wait()
    return {"read": read, "sent": pub.sent, "failed": pub.failed, "errors": pub.error_texts(3)}
