"""Every page in Chromium at 1400 and 400 px: no horizontal page overflow, no script errors,
no request off the server; and what the pages show people (times, settings, forms)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pstt_core.logs import teardown_logging
from tests.conftest import HomeBuilder, LiveServer, logs_text
from tests.web.conftest import csv_schedule

pytestmark = pytest.mark.browser

PAGES = ["/", "/scheduler", "/scheduler/orders", "/scheduler/broken", "/history", "/settings",
         "/logs", "/docs", "/kafka", "/login", "/no-such-page"]


@pytest.fixture(scope="module")
def site(module_home: HomeBuilder) -> Iterator[Any]:
    """Times in Europe/Rome; a schedule with a long name and a run with a file; an invalid
    hand-edited schedule; an SMTP server entry with nested values and a secret."""
    csv_schedule(module_home, "orders", name="Orders with a rather long name for narrow screens",
                 timezone="America/New_York", trigger={"type": "cron", "expression": "0 6 * * *"})
    module_home.add_schedule(id="broken", name="Broken", connection="nowhere",
                             timezone="Europe/Roma", sink_options={"filename": "b.csv"})
    module_home.connections["smtp_servers"] = [{
        "name": "relay", "host": "127.0.0.1", "port": 2525, "security": "none",
        "from_address": "pstt@example.com", "username": "u", "password": "hunter2-smtp",
        "allow_insecure_auth": True}]
    pstt = module_home.pstt(environ={"PSTT_DISPLAY_TIMEZONE": "Europe/Rome",
                                     "PSTT_SCHEDULER_ENABLED": "true"})
    with LiveServer(pstt.asgi_app()) as server:
        server.pstt = pstt  # type: ignore[attr-defined]
        server.record = pstt.run("orders")  # type: ignore[attr-defined]
        yield server
    teardown_logging(module_home.root / "logs")


@pytest.fixture
def watched(browser: Any, site: Any) -> Iterator[Any]:
    """A page factory; every page's script errors, failed loads and off-server requests are
    collected and must be empty at the end."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page(width: int) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        # 4xx answers that a test provokes (a bad form) are checked by the test itself
        page.on("console", lambda m: problems.append(f"console: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 500 else None)
        page.on("request", lambda r: problems.append(f"off the server: {r.url}")
                if not r.url.startswith((site.url, "data:")) else None)
        page.on("dialog", lambda d: d.accept())
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.mark.parametrize("width", [1400, 400])
def test_every_page_fits_the_screen_without_errors(site: Any, watched: Any, width: int,
                                                   screenshots_dir: Path) -> None:
    page = watched(width)
    for path in PAGES:
        response = page.goto(site.url + path)
        assert response is not None
        assert response.status == (404 if path == "/no-such-page" else 200), path
        if path == "/docs":
            page.wait_for_selector("#swagger-ui .opblock", timeout=20000)
        page.wait_for_load_state("networkidle")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        name = path.strip("/").replace("/", "_") or "status"
        page.screenshot(path=str(screenshots_dir / f"page_{name}_{width}.png"), full_page=True)
        assert scroll <= inner, f"{path} at {width} px: page is {scroll} px wide"


def test_times_use_one_format_and_zone_with_the_schedule_zone(site: Any, watched: Any) -> None:
    page = watched(1400)
    page.goto(site.url + "/scheduler")
    row = page.locator('tr[data-schedule-id="orders"]').inner_text()
    # 06:00 in New York shown in Rome time, the schedule's own clock beside it
    assert re.search(r"\d{4}-\d\d-\d\d (11|12):00:00 CES?T \(06:00 America/New_York\)", row), row
    assert re.search(r"success \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T", row), row
    page.goto(site.url + "/history")
    started = page.locator("#history tbody tr td").nth(3).inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T", started), started
    assert "From (Europe/Rome)" in page.inner_text("#history-filters")
    # the script formats the same way, in the same zone
    stored = site.record.started_at
    page_text = page.evaluate("iso => window.pstt.formatTime(iso)", stored)
    assert page_text == started


def test_history_details_and_download_link(site: Any, watched: Any) -> None:
    page = watched(1400)
    page.goto(site.url + "/history")
    row = page.locator(f'tr[data-export-id="{site.record.export_id}"]')
    terms = row.locator("dl.run-detail dt").all_inner_texts()
    assert terms[:2] == ["path", "file_bytes"]
    link = row.locator("a.download")
    assert link.get_attribute("href") == f"/runs/{site.record.export_id}/file"
    with page.expect_download() as download:
        link.click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == (site.pstt.home.exports / site.record.extra["path"]).read_bytes()
    # only what the history recorded: anything else is a 404
    assert httpx.get(f"{site.url}/runs/not-an-export/file").status_code == 404
    assert httpx.get(f"{site.url}/runs/..%2F..%2Fconnections.json/file").status_code == 404


def test_settings_are_readable_and_masked(site: Any, watched: Any) -> None:
    page = watched(1400)
    page.goto(site.url + "/settings")
    relay = page.locator('table[data-section="smtp_servers"]').inner_text()
    assert "hunter2-smtp" not in page.content() and "********" in relay
    assert "True" not in relay and "False" not in relay and "yes" in relay
    assert "{'" not in page.content() and "['" not in page.content()
    # the Test buttons of every connection table stand in one column
    lefts = page.locator("table.connections button[data-test-url]").evaluate_all(
        "bs => bs.map(b => Math.round(b.getBoundingClientRect().left))")
    assert len(lefts) >= 2 and len(set(lefts)) == 1, lefts
    assert page.locator("#all-settings").get_attribute("open") is None  # the long list folded
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2200, height


def test_form_reports_every_error_at_once_and_offers_iana_zones(site: Any, watched: Any,
                                                                screenshots_dir: Path) -> None:
    page = watched(1400)
    page.goto(site.url + "/scheduler")
    zones = page.locator("#f-timezone option").all_inner_texts()
    assert "Europe/Rome" in zones and "America/New_York" in zones and len(zones) > 300
    from pstt_core.timefmt import server_zone_name

    assert page.input_value("#f-timezone") == server_zone_name()
    page.fill("#f-name", "Two mistakes")
    page.fill("#f-query", "SELECT 1")
    page.evaluate("document.getElementById('f-timezone').add(new Option('Mars/Olympus'))")
    page.select_option("#f-timezone", "Mars/Olympus")
    page.fill("#f-cron", "61 * * * *")
    page.click("#schedule-form button[type=submit]")
    page.locator("#schedule-form .form-error").wait_for(state="visible")
    assert "2 problems" in page.inner_text("#schedule-form .form-error")
    tz = page.locator('.field[data-path="timezone"] .field-error').inner_text()
    cron = page.locator('.field[data-path="trigger.expression"] .field-error').inner_text()
    assert "unknown time zone 'Mars/Olympus'" in tz and "61" in cron
    page.screenshot(path=str(screenshots_dir / "web_form_every_error.png"), full_page=True)
    assert "two-mistakes" not in site.pstt.schedules.all()


def test_invalid_schedule_can_be_fixed_from_its_edit_page(site: Any, watched: Any,
                                                          screenshots_dir: Path) -> None:
    page = watched(1400)
    page.goto(site.url + "/scheduler")
    page.click("#invalid-schedules a:has-text('Edit')")
    page.wait_for_url(re.compile(r"/scheduler/broken$"))
    raw = json.loads(page.inner_text("#raw-schedule"))
    assert raw["connection"] == "nowhere" and raw["timezone"] == "Europe/Roma"
    warn = page.inner_text("#invalid-schedule")
    assert "$.connection" in warn and "$.timezone" in warn
    field = page.locator('.field[data-path="connection"]')
    assert "invalid" in (field.get_attribute("class") or "")
    page.screenshot(path=str(screenshots_dir / "web_invalid_schedule.png"), full_page=True)
    for _ in range(3):  # reloads log nothing new
        page.reload()
    page.select_option("#f-connection", "demo")
    page.select_option("#f-timezone", "Europe/Rome")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector("#flash.flash-success")
    fixed = site.pstt.schedules.get("broken")
    assert (fixed.connection, fixed.timezone) == ("demo", "Europe/Rome")
    assert logs_text(site.pstt.home.root).count("schedule broken is invalid") <= 1


def test_preview_shows_first_rows_or_the_error(site: Any, watched: Any,
                                               screenshots_dir: Path) -> None:
    page = watched(1400)
    page.goto(site.url + "/scheduler")
    page.select_option("#f-connection", "demo")
    page.fill("#f-query", "SELECT id, amount FROM orders ORDER BY id")
    page.click("#preview-btn")
    page.wait_for_selector("#preview table")
    assert page.locator("#preview thead th").all_inner_texts() == ["id", "amount"]
    assert page.locator("#preview tbody tr").count() == 20
    assert "(first rows only)" in page.inner_text("#preview")
    page.screenshot(path=str(screenshots_dir / "web_preview.png"), full_page=True)
    page.fill("#f-query", "SELECT nope FROM orders")
    page.click("#preview-btn")
    page.wait_for_selector("#preview.error-text")
    assert "no such column: nope" in page.inner_text("#preview")
    # read-only: a statement that would write is refused and changes nothing
    page.fill("#f-query", "DELETE FROM orders RETURNING id")
    page.click("#preview-btn")
    page.wait_for_selector("#preview.error-text")
    assert "readonly" in page.inner_text("#preview").lower().replace("-", "")
    assert site.pstt.run("orders").rows > 0


def test_docs_renders_the_openapi_document(site: Any, watched: Any) -> None:
    page = watched(1400)
    page.goto(site.url + "/docs")
    page.wait_for_selector("#swagger-ui .opblock", timeout=20000)
    text = page.inner_text("#swagger-ui")
    assert "/api/schedules" in text and "/api/preview" in text
    assert "/api/kafka/test" in text  # plugin operations too


def test_created_schedule_has_a_location(site: Any) -> None:
    created = httpx.post(f"{site.url}/api/schedules", json={
        "name": "Located", "connection": "demo", "query": "SELECT 1",
        "trigger": {"type": "interval", "seconds": 600}, "sharing_mode": "filesystem"})
    assert created.status_code == 201
    assert created.headers["location"] == "/api/schedules/located"
    assert httpx.get(site.url + created.headers["location"]).json()["name"] == "Located"
