"""The eight ``/api/kafka`` endpoints through Starlette's TestClient against the real broker;
every message the API says it sent is read back by a consumer."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pstt_core import Pstt
from pstt_sinks_kafka.api import MAX_BATCH_MESSAGES
from tests.conftest import HomeBuilder
from tests.kafka_broker import consume_all
from tests.sinks_kafka.webapp import FAST_ENV, dashboard_home, with_csrf

pytestmark = pytest.mark.kafka

SECRET = "s3cret-never-shown"


@pytest.fixture(scope="module")
def client(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = dashboard_home(HomeBuilder(tmp_path_factory.mktemp("kafka-api")), kafka_broker.bootstrap,
                      secret=True)
    pstt = home.pstt(environ={**FAST_ENV, "KAFKA_TEST_SECRET": SECRET}, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        yield with_csrf(c)


def headers_of(msg: Any) -> dict[str, bytes]:
    return dict(msg.headers() or [])


def test_connections_are_listed_with_secrets_masked(client: TestClient) -> None:
    resp = client.get("/api/kafka/connections")
    assert resp.status_code == 200
    by_name = {c["name"]: c for c in resp.json()}
    assert set(by_name) == {"local", "down", "secured"}
    assert by_name["local"]["security_protocol"] == "PLAINTEXT"
    assert by_name["secured"]["sasl_password"] == "********"
    assert SECRET not in resp.text


def test_connection_test_reports_success_brokers_and_latency(client: TestClient) -> None:
    resp = client.post("/api/kafka/test", json={"connection": "local"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["connection"] == "local"
    assert body["success"] is True, body
    assert body["brokers"], body
    assert body["latency_ms"] >= 0
    assert body["error"] in (None, "")


def test_connection_test_of_unreachable_broker_says_why(client: TestClient) -> None:
    body = client.post("/api/kafka/test", json={"connection": "down"}).json()
    assert body["success"] is False
    assert body["error"]


def test_send_lands_with_key_value_and_headers(client: TestClient, kafka_broker: Any,
                                               unique_name: str) -> None:
    value = {"id": 7, "status": "new", "amount": "12.50"}
    resp = client.post("/api/kafka/send", json={
        "connection": "local", "topic": unique_name, "key": "order-7", "value": value,
        "headers": {"source": "api-test", "trace": "abc"}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True and body["error"] in (None, "")
    assert body["topic"] == unique_name
    assert isinstance(body["partition"], int) and isinstance(body["offset"], int)
    assert body["latency_ms"] >= 0
    [msg] = consume_all(kafka_broker.bootstrap, unique_name, expected=1)
    assert msg.key() == b"order-7"
    assert json.loads(msg.value()) == value
    assert headers_of(msg) == {"source": b"api-test", "trace": b"abc"}
    assert (msg.partition(), msg.offset()) == (body["partition"], body["offset"])


def test_send_without_key_or_headers(client: TestClient, kafka_broker: Any,
                                     unique_name: str) -> None:
    resp = client.post("/api/kafka/send", json={"connection": "local", "topic": unique_name,
                                                "value": [1, 2, 3]})
    assert resp.status_code == 200, resp.text
    [msg] = consume_all(kafka_broker.bootstrap, unique_name, expected=1)
    assert msg.key() is None
    assert json.loads(msg.value()) == [1, 2, 3]


def test_send_to_an_unreachable_broker_is_502_with_the_reason(client: TestClient) -> None:
    resp = client.post("/api/kafka/send", json={"connection": "down", "topic": "orders",
                                                "value": {"id": 1}})
    assert resp.status_code == 502
    body = resp.json()
    assert body["success"] is False and body["error"]
    assert body["partition"] is None and body["offset"] is None


def test_batch_to_an_unreachable_broker_counts_every_message_failed(client: TestClient) -> None:
    resp = client.post("/api/kafka/batch", json={"connection": "down", "topic": "orders",
                                                 "messages": [{"value": i} for i in range(7)]})
    assert resp.status_code == 200
    body = resp.json()
    assert (body["total"], body["sent"], body["failed"]) == (7, 0, 7)
    assert body["success_rate"] == 0 and body["errors"]


def test_batch_lands_every_message_in_order(client: TestClient, kafka_broker: Any,
                                            unique_name: str) -> None:
    messages = [{"key": f"k{i}", "value": {"n": i}, "headers": {"seq": str(i)}} for i in range(23)]
    messages.append({"value": "plain text, no key"})
    resp = client.post("/api/kafka/batch", json={"connection": "local", "topic": unique_name,
                                                 "messages": messages, "batch_size": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == 24 and body["sent"] == 24 and body["failed"] == 0, body
    assert body["success_rate"] == 100
    assert body["duration_sec"] >= 0 and body["throughput_msg_s"] > 0
    assert body["errors"] == []
    got = consume_all(kafka_broker.bootstrap, unique_name, expected=24)
    assert len(got) == 24
    keyed = {m.key(): m for m in got if m.key() is not None}
    assert set(keyed) == {f"k{i}".encode() for i in range(23)}
    for i in range(23):
        msg = keyed[f"k{i}".encode()]
        assert json.loads(msg.value()) == {"n": i}
        assert headers_of(msg) == {"seq": str(i).encode()}
    [unkeyed] = [m for m in got if m.key() is None]
    assert unkeyed.value().decode() in ("plain text, no key", '"plain text, no key"')


def test_metrics_count_what_was_sent(client: TestClient, unique_name: str) -> None:
    sent = client.post("/api/kafka/batch", json={
        "connection": "local", "topic": unique_name,
        "messages": [{"value": {"i": i}} for i in range(10)]}).json()
    assert sent["sent"] == 10
    summary = client.get("/api/kafka/metrics/summary")
    assert summary.status_code == 200
    assert summary.json()["messages"] >= 10
    hourly = client.get("/api/kafka/metrics/hourly").json()
    assert isinstance(hourly, list) and 1 <= len(hourly) <= 24
    last = hourly[-1]
    for key in ("hour", "messages", "bytes", "failures", "latency_avg_ms", "latency_p50_ms",
                "latency_p95_ms", "latency_p99_ms", "throughput_msg_s"):
        assert key in last
    assert sum(h["messages"] for h in hourly) >= 10
    assert len(client.get("/api/kafka/metrics/hourly?hours=3").json()) <= 3
    topics = {t["topic"]: t for t in client.get("/api/kafka/metrics/topics").json()}
    row = topics[unique_name]
    assert row["connection"] == "local"
    assert row["messages"] == 10 and row["failures"] == 0
    assert row["bytes"] > 0 and row["last_message_at"]


def test_health_is_degraded_with_one_broker_down(client: TestClient) -> None:
    resp = client.get("/api/kafka/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "degraded", body
    by_name = {c["name"]: c for c in body["connections"]}
    assert by_name["local"]["healthy"] is True
    assert by_name["down"]["healthy"] is False and by_name["down"]["error"]
    assert SECRET not in resp.text


def kafka_api_of(client: TestClient) -> Any:
    """The KafkaApi behind the app's /api/kafka routes."""
    mount = next(r for r in client.app.routes if getattr(r, "path", "") == "/api/kafka")  # type: ignore[attr-defined]
    health = next(r for r in mount.routes if r.path == "/health")
    return health.endpoint.__wrapped__.__self__


@pytest.mark.parametrize(("ttl", "computed"), [("30", 1), ("0", 3)])
def test_health_probes_are_shared_and_cached_like_api_health(
        kafka_broker: Any, tmp_path: Path, ttl: str, computed: int) -> None:
    """PSTT_HEALTH_CACHE_SEC as for /api/health: concurrent callers share one probe of the
    brokers, later callers within the TTL get its result; 0 probes for every call."""
    home = dashboard_home(HomeBuilder(tmp_path), kafka_broker.bootstrap)  # one broker down
    pstt = home.pstt(environ={**FAST_ENV, "PSTT_HEALTH_CACHE_SEC": ttl}, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        cache = kafka_api_of(c).health_cache
        if ttl == "0":
            bodies = [c.get("/api/kafka/health").json() for _ in range(3)]
        else:
            bodies = []

            def call() -> None:
                bodies.append(c.get("/api/kafka/health").json())

            callers = [threading.Thread(target=call) for _ in range(10)]
            for t in callers:
                t.start()
            for t in callers:
                t.join(timeout=60)
            t0 = time.perf_counter()
            bodies.append(c.get("/api/kafka/health").json())
            assert time.perf_counter() - t0 < 0.5  # no probe of the down broker this time
        assert cache.computed == computed
        assert all(b["status"] == "degraded" for b in bodies), bodies


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/kafka/test", {}, "connection"),
    ("/api/kafka/test", {"connection": 5}, "connection"),
    ("/api/kafka/send", {"connection": "local", "value": 1}, "topic"),
    ("/api/kafka/send", {"connection": "local", "topic": "has space", "value": 1}, "topic"),
    ("/api/kafka/send", {"connection": "local", "topic": "..", "value": 1}, "topic"),
    ("/api/kafka/send", {"connection": "local", "topic": "x" * 250, "value": 1}, "topic"),
    ("/api/kafka/send", {"connection": "local", "topic": "t"}, "value"),
    ("/api/kafka/send", {"connection": "local", "topic": "t", "value": 1, "key": True}, "key"),
    ("/api/kafka/send", {"connection": "local", "topic": "t", "value": 1,
                         "headers": {"n": 1}}, "headers"),
    ("/api/kafka/send", {"connection": "local", "topic": "t", "value": 1,
                         "headers": ["a"]}, "headers"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t"}, "messages"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t", "messages": []}, "messages"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t", "messages": "x"}, "messages"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t",
                          "messages": [{"value": 1}, {"key": "k"}]}, "messages[1].value"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t",
                          "messages": [{"value": 1, "extra": 2}]}, "messages[0]"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t", "messages": [{"value": 1}],
                          "batch_size": 0}, "batch_size"),
    ("/api/kafka/batch", {"connection": "local", "topic": "t", "messages": [{"value": 1}],
                          "batch_size": "many"}, "batch_size"),
])
def test_bad_input_is_400_naming_the_field(client: TestClient, path: str, body: dict[str, Any],
                                           field: str) -> None:
    resp = client.post(path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"].startswith(field + ":"), resp.json()


def test_too_many_messages_is_refused_with_the_limit(client: TestClient) -> None:
    messages = [{"value": i} for i in range(MAX_BATCH_MESSAGES + 1)]
    resp = client.post("/api/kafka/batch", json={"connection": "local", "topic": "t",
                                                  "messages": messages})
    assert resp.status_code == 400
    assert str(MAX_BATCH_MESSAGES) in resp.json()["error"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]"])
def test_body_that_is_not_a_json_object_is_400(client: TestClient, raw: bytes) -> None:
    resp = client.post("/api/kafka/send", content=raw,
                       headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert "error" in resp.json()


@pytest.mark.parametrize("hours", ["0", "721", "abc", "-3"])
def test_hours_out_of_bounds_is_400(client: TestClient, hours: str) -> None:
    resp = client.get(f"/api/kafka/metrics/hourly?hours={hours}")
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("hours:")


@pytest.mark.parametrize(("path", "body"), [
    ("/api/kafka/test", {"connection": "nope"}),
    ("/api/kafka/send", {"connection": "nope", "topic": "t", "value": 1}),
    ("/api/kafka/batch", {"connection": "nope", "topic": "t", "messages": [{"value": 1}]}),
])
def test_unknown_connection_is_404(client: TestClient, path: str, body: dict[str, Any]) -> None:
    resp = client.post(path, json=body)
    assert resp.status_code == 404, resp.text
    assert "nope" in resp.json()["error"]


def test_without_kafka_connections_the_api_answers_sensibly(home: HomeBuilder) -> None:
    pstt = home.pstt(environ=FAST_ENV, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        with_csrf(c)
        assert c.get("/api/kafka/health").json() == {"status": "not_configured",
                                                     "connections": []}
        assert c.get("/api/kafka/connections").json() == []
        assert c.get("/api/kafka/metrics/summary").status_code == 200
        assert c.get("/api/kafka/metrics/hourly").status_code == 200
        resp = c.post("/api/kafka/send", json={"connection": "local", "topic": "t", "value": 1})
        assert resp.status_code == 404 and "kafka_connections" in resp.json()["error"]


def test_without_confluent_kafka_routes_answer_503_with_install_hint(
        home: HomeBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    pstt: Pstt = home.pstt(environ=FAST_ENV, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        with_csrf(c)
        # A None entry makes the import system (and find_spec) treat the module as absent.
        monkeypatch.setitem(sys.modules, "confluent_kafka", None)
        for method, path in [("GET", "/api/kafka/health"), ("GET", "/api/kafka/connections"),
                             ("POST", "/api/kafka/send")]:
            resp = c.request(method, path, json={})
            assert resp.status_code == 503
            assert 'pip install "pstt[kafka]"' in resp.json()["error"]


def test_openapi_document_describes_the_kafka_endpoints(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    expected = {"/api/kafka/connections": "get", "/api/kafka/test": "post",
                "/api/kafka/send": "post", "/api/kafka/batch": "post",
                "/api/kafka/metrics/summary": "get", "/api/kafka/metrics/hourly": "get",
                "/api/kafka/metrics/topics": "get", "/api/kafka/health": "get"}
    for path, method in expected.items():
        op = paths[path][method]
        assert op["tags"] == ["kafka"] and "200" in op["responses"], path
    send = paths["/api/kafka/send"]["post"]
    assert set(send["requestBody"]["content"]["application/json"]["schema"]["required"]) == {
        "connection", "topic", "value"}
    assert {"400", "404", "502", "503"} <= set(send["responses"])


def test_cookie_client_without_csrf_token_is_refused(client: TestClient) -> None:
    resp = client.post("/api/kafka/test", json={"connection": "local"},
                       headers={"X-CSRF-Token": "forged"})
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["error"]


FUZZ_CASES = [(path, method, mode) for path, method in [
    ("/api/kafka/connections", "GET"), ("/api/kafka/test", "POST"), ("/api/kafka/send", "POST"),
    ("/api/kafka/batch", "POST"), ("/api/kafka/metrics/summary", "GET"),
    ("/api/kafka/metrics/hourly", "GET"), ("/api/kafka/metrics/topics", "GET")]
    for mode in ("valid", "invalid")]


@pytest.mark.parametrize(("path", "method", "mode"), FUZZ_CASES,
                         ids=[" ".join(c) for c in FUZZ_CASES])
def test_fuzzed_requests_never_cause_a_server_error(kafka_broker: Any, home: HomeBuilder,
                                                    path: str, method: str, mode: str) -> None:
    """Requests generated from the endpoints' own OpenAPI operations (schemathesis)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    # A bearer token makes the fuzzer's requests script-like (no CSRF) and authorised.
    # schemathesis' ASGI client sends Host: testserver (Starlette's test client name)
    pstt = dashboard_home(home, kafka_broker.bootstrap, down=False).pstt(
        environ={**FAST_ENV, "PSTT_API_TOKEN": "fuzz-token", "PSTT_ALLOWED_HOSTS": "testserver"},
        logs=False)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", pstt.asgi_app())
    operation = schema[path][method]
    generation = GenerationMode.POSITIVE if mode == "valid" else GenerationMode.NEGATIVE
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=generation))
    @settings(max_examples=20, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call(headers={"Authorization": "Bearer fuzz-token"})
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.method, case.body, response.text[:300])
        if response.status_code >= 400:
            assert "error" in response.json(), response.text[:200]

    check()
    assert set(statuses) - {401}, "every request was refused before reaching the handler"
