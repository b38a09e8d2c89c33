"""The ``/kafka`` dashboard in real Chromium against a real uvicorn server and the real broker."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pstt_core.demo import create_demo_database
from tests.conftest import HomeBuilder, LiveServer, pstt_process
from tests.kafka_broker import consume_all
from tests.sinks_kafka.webapp import FAST_ENV, dashboard_home

pytestmark = [pytest.mark.kafka, pytest.mark.browser]


@pytest.fixture(scope="module")
def ui_home(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> HomeBuilder:
    root = tmp_path_factory.mktemp("kafka-ui")
    create_demo_database(root / "demo.db", orders=30)
    home = dashboard_home(HomeBuilder(root), kafka_broker.bootstrap)
    home.add_schedule(id="from-cron", sharing_mode="kafka", query="SELECT * FROM orders",
                      sink_options={"connection": "local", "topic": "t-from-cron"})
    return home


@pytest.fixture(scope="module")
def base_url(ui_home: HomeBuilder) -> Iterator[str]:
    pstt = ui_home.pstt(environ=FAST_ENV, logs=False)
    with LiveServer(pstt.asgi_app()) as server:
        yield server.url
    pstt.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # A failed load is checked by URL below (the browser's own /favicon.ico probe is fine).
    pg.on("console", lambda m: errors.append(m.text)
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url)
          if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    yield pg
    context.close()
    assert not outside, f"the page fetched something off the server: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def chart_points(page: Any, chart: str, dataset: int = 0) -> float:
    return float(page.evaluate(
        "([c, i]) => psttKafka.charts[c].data.datasets[i].data.reduce((a, b) => a + (b || 0), 0)",
        [chart, dataset]))


def test_dashboard_renders_charts_tables_and_health(page: Any, base_url: str,
                                                    unique_name: str, screenshots_dir: Path) -> None:
    sent = httpx.post(f"{base_url}/api/kafka/batch", json={
        "connection": "local", "topic": unique_name,
        "messages": [{"key": str(i), "value": {"i": i}} for i in range(40)]}, timeout=30).json()
    assert sent["sent"] == 40
    page.goto(f"{base_url}/kafka")
    assert page.title().startswith("Kafka")
    assert page.locator("nav.menu a[href='/kafka']").count() == 1
    # Both canvases carry a Chart.js instance, and the data came from the API.
    page.wait_for_function("() => Chart.getChart('chart-throughput') && Chart.getChart('chart-latency')")
    page.wait_for_function("() => psttKafka.charts.throughput.data.labels.length > 0")
    assert chart_points(page, "throughput") >= 40
    assert chart_points(page, "latency") > 0
    assert page.locator(f"#topics-body td:text-is('{unique_name}')").count() == 1
    page.wait_for_selector("tr[data-connection='local'] .health-dot.healthy")
    page.wait_for_selector("tr[data-connection='down'] .health-dot.unhealthy", timeout=30000)
    assert page.inner_text("#kafka-health-overall").strip() == "degraded"
    # the reason, in words, beside the red dot
    reason = page.inner_text("tr[data-connection='down'] .health-text")
    assert "bootstrap servers 127.0.0.1:" in reason, reason
    page.screenshot(path=str(screenshots_dir / "kafka_dashboard.png"), full_page=True)


def test_cards_count_runs_of_other_processes_from_the_history(
        page: Any, base_url: str, ui_home: HomeBuilder) -> None:
    """A `pstt run` from cron is another process: its deliveries reach the service's figures
    through the stored metrics (added under the lock, not written over) and its run through
    the history."""
    before = httpx.get(f"{base_url}/api/kafka/metrics/summary", timeout=10).json()
    ran = pstt_process(ui_home.root, "run", "from-cron")
    assert ran.returncode == 0, ran.stderr
    summary = httpx.get(f"{base_url}/api/kafka/metrics/summary", timeout=10).json()
    assert summary["messages"] == before["messages"] + 30  # the other process's 30 messages
    history = summary["history"]
    assert history["runs"] == before["history"]["runs"] + 1
    assert history["messages_sent"] == before["history"]["messages_sent"] + 30
    assert history["by_status"]["success"] >= 1 and history["success_rate"] == 100.0
    page.goto(f"{base_url}/kafka")
    page.wait_for_function("() => document.getElementById('card-runs').textContent !== '–'")
    assert page.inner_text("#card-runs") == str(history["runs"])
    assert page.inner_text("#card-messages") == f"{history['messages_sent']:,}"
    assert page.inner_text("#card-success-rate") == "100 %"


def test_send_form_delivers_a_message(page: Any, base_url: str, kafka_broker: Any,
                                      unique_name: str, screenshots_dir: Path) -> None:
    page.goto(f"{base_url}/kafka")
    page.select_option("#send-connection", "local")
    page.fill("#send-topic", unique_name)
    page.fill("#send-key", "ui-key")
    page.fill("#send-value", '{"from": "dashboard", "n": 1}')
    page.fill("#send-headers", '{"origin": "browser"}')
    page.click("#send-submit")
    page.wait_for_selector("#send-result.ok", timeout=20000)
    assert json.loads(page.inner_text("#send-result"))["success"] is True
    [msg] = consume_all(kafka_broker.bootstrap, unique_name, expected=1)
    assert msg.key() == b"ui-key"
    assert json.loads(msg.value()) == {"from": "dashboard", "n": 1}
    assert dict(msg.headers() or []) == {"origin": b"browser"}
    page.screenshot(path=str(screenshots_dir / "kafka_send_form.png"), full_page=True)


def test_batch_form_delivers_and_bad_topic_is_reported(page: Any, base_url: str,
                                                       kafka_broker: Any, unique_name: str) -> None:
    page.goto(f"{base_url}/kafka")
    page.fill("#batch-topic", unique_name)
    page.fill("#batch-size", "2")
    page.fill("#batch-messages", json.dumps([{"key": "a", "value": 1}, {"key": "b", "value": 2},
                                             {"value": {"c": 3}}]))
    page.click("#batch-submit")
    page.wait_for_selector("#batch-result.ok", timeout=20000)
    assert json.loads(page.inner_text("#batch-result"))["sent"] == 3
    got = consume_all(kafka_broker.bootstrap, unique_name, expected=3)
    assert sorted(json.dumps(json.loads(m.value())) for m in got) == ['1', '2', '{"c": 3}']
    page.fill("#batch-messages", "[not json")
    page.click("#batch-submit")
    page.wait_for_selector("#batch-result.failed")
    assert "not valid JSON" in page.inner_text("#batch-result")


def test_connection_test_buttons_show_the_outcome(page: Any, base_url: str,
                                                  screenshots_dir: Path) -> None:
    page.goto(f"{base_url}/kafka")
    page.click("tr[data-connection='local'] .test-btn")
    ok = page.wait_for_selector("tr[data-connection='local'] .test-result.ok", timeout=20000)
    assert ok.inner_text().startswith("OK")
    page.click("tr[data-connection='down'] .test-btn")
    bad = page.wait_for_selector("tr[data-connection='down'] .test-result.failed", timeout=30000)
    assert bad.inner_text().startswith("Failed:")
    page.locator("#connections-table").screenshot(path=str(screenshots_dir / "kafka_connections.png"))


def test_scheduler_form_shows_the_kafka_fields_only_for_kafka(page: Any, base_url: str,
                                                              screenshots_dir: Path) -> None:
    page.goto(f"{base_url}/scheduler")
    kafka = page.locator("fieldset.sink-options[data-sink='kafka']")
    page.select_option("#sharing-mode", "filesystem")  # (kafka is preselected: most used here)
    assert kafka.is_hidden()
    page.select_option("#sharing-mode", "kafka")
    assert kafka.is_visible()
    assert page.locator("fieldset.sink-options[data-sink='filesystem']").is_hidden()
    labels = {"connection": "Kafka connection", "topic": "Topic", "key_field": "Key field",
              "batch_size": "Batch size", "include_metadata": "Include metadata"}
    for field, label in labels.items():
        box = kafka.locator(f"[data-path='sink_options.{field}']")
        assert box.locator(f"[data-option='{field}']").is_visible(), field
        assert label in box.inner_text()
    assert "KAFKA_BATCH_SIZE" in kafka.inner_text()  # the help names the default's setting
    page.screenshot(path=str(screenshots_dir / "kafka_scheduler_form.png"), full_page=True)
    page.select_option("#sharing-mode", "filesystem")
    assert kafka.is_hidden()


def test_scheduler_form_creates_a_kafka_schedule_that_exports(
        page: Any, base_url: str, kafka_broker: Any, unique_name: str) -> None:
    page.goto(f"{base_url}/scheduler")
    page.select_option("#sharing-mode", "kafka")
    page.fill("#f-name", unique_name)
    page.fill("#f-query", "SELECT id, customer_id, amount FROM orders ORDER BY id LIMIT 5")
    page.select_option("#opt-kafka-connection", "local")
    page.fill("#opt-kafka-topic", unique_name)
    page.fill("#opt-kafka-key_field", "id")
    page.fill("#opt-kafka-batch_size", "2")
    page.check("#opt-kafka-include_metadata")
    page.click("fieldset[data-sink='kafka'] details summary")
    page.fill("#opt-kafka-headers", '{"origin": "scheduler-form"}')
    # the page moves on by itself once saved: wait for that, so the goto below is not cut off
    with page.expect_navigation(), \
            page.expect_response(lambda r: r.url.endswith("/api/schedules")) as saved:
        page.click("#schedule-form button[type=submit]")
    assert saved.value.status == 201, saved.value.text()
    schedules = httpx.get(f"{base_url}/api/schedules", timeout=10).json()
    [sched] = [s for s in schedules["schedules"] if s["name"] == unique_name]
    assert sched["sharing_mode"] == "kafka"
    opts = sched["sink_options"]
    assert (opts["connection"], opts["topic"], opts["key_field"], opts["batch_size"],
            opts["include_metadata"], opts["headers"]) == (
        "local", unique_name, "id", 2, True, {"origin": "scheduler-form"})
    record = httpx.post(f"{base_url}/api/schedules/{sched['id']}/run", timeout=60).json()
    assert record["status"] == "success", json.dumps(record)
    assert record["kafka_messages_sent"] == 5
    got = consume_all(kafka_broker.bootstrap, unique_name, expected=5)
    assert sorted(m.key() for m in got) == [b"1", b"2", b"3", b"4", b"5"]
    first = json.loads(got[0].value())
    assert set(first) == {"data", "metadata"} and first["metadata"]["export_id"]
    assert dict(got[0].headers() or []) == {"origin": b"scheduler-form"}
    # Editing shows the saved headers as JSON again.
    page.goto(f"{base_url}/scheduler/{sched['id']}")
    assert json.loads(page.input_value("#opt-kafka-headers")) == {"origin": "scheduler-form"}


def test_dashboard_without_kafka_connections_says_how_to_add_them(home: HomeBuilder) -> None:
    from starlette.testclient import TestClient

    pstt = home.pstt(environ=FAST_ENV, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        page = c.get("/kafka")
    assert page.status_code == 200
    assert "No Kafka connection is configured" in page.text
    assert "kafka_connections" in page.text
    assert 'href="/kafka"' in page.text  # the menu link


def test_dashboard_without_confluent_kafka_shows_the_install_hint(
        home: HomeBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    pstt = home.pstt(environ=FAST_ENV, logs=False)
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as c:
        monkeypatch.setitem(sys.modules, "confluent_kafka", None)
        page = c.get("/kafka")
    assert page.status_code == 200
    assert "Kafka support is not installed" in page.text
    assert "pip install &#34;pstt[kafka]&#34;" in page.text
