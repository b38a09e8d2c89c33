"""The pages in headless Chromium against a real uvicorn server."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pstt_core.logs import teardown_logging
from pstt_core.models import Trigger
from pstt_core.scheduler import preview
from tests.conftest import HomeBuilder, LiveServer
from tests.web.conftest import TOKEN, csv_schedule
from tests.web.plugin_fixture import hook_plugin

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(module_home: HomeBuilder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An open (no token) server with the hook test plugin installed."""
    csv_schedule(module_home, "existing", name="Existing export")
    module_home.connections["hook_endpoints"] = [{"name": "local-hook", "host": "127.0.0.1",
                                                  "password": "hunter2-hook"}]
    with hook_plugin(tmp_path_factory.mktemp("plugin")):
        pstt = module_home.pstt(environ={})
        with LiveServer(pstt.asgi_app()) as server:
            server.pstt = pstt  # type: ignore[attr-defined]
            yield server
    teardown_logging(module_home.root / "logs")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    pg.dialogs = dialogs
    yield pg
    context.close()


def test_create_schedule_in_form_run_it_and_see_it_in_history(site: Any, page: Any,
                                                              screenshots_dir: Path) -> None:
    page.goto(site.url + "/scheduler")
    page.fill("#f-name", "Browser CSV")
    page.select_option("#f-connection", "demo")
    page.fill("#f-query", "SELECT id, amount FROM orders ORDER BY id LIMIT 25")
    page.select_option("#f-trigger-type", "interval")
    page.fill("#f-seconds", "7200")
    page.select_option("#sharing-mode", "filesystem")
    page.select_option("#opt-filesystem-format", "csv")
    page.fill("#opt-filesystem-filename", "browser_{export_id}.csv")
    page.screenshot(path=str(screenshots_dir / "web_scheduler_form.png"), full_page=True)
    page.click("#schedule-form button[type=submit]")
    page.wait_for_url(re.compile(r"/scheduler/browser-csv$"))
    assert "Schedule browser-csv saved." in page.inner_text("#flash")
    saved = site.pstt.schedules.get("browser-csv")
    assert saved.trigger.interval_seconds() == 7200
    assert saved.sink_options["filename"] == "browser_{export_id}.csv"

    page.click("button[data-action=run]")
    page.wait_for_selector("#flash.flash-success, #flash.flash-error")
    assert "finished: success, 25 rows" in page.inner_text("#flash"), page.inner_text("#flash")
    row = page.locator("#recent-runs tbody tr").first
    assert "success" in row.inner_text() and "25" in row.inner_text()
    page.screenshot(path=str(screenshots_dir / "web_schedule_after_run.png"), full_page=True)
    export_id = row.get_attribute("data-export-id")
    assert (site.pstt.home.exports / f"browser_{export_id}.csv").is_file()

    page.click("nav.menu >> text=History")
    assert page.locator(f'#history tr[data-export-id="{export_id}"]').count() == 1
    page.click("nav.menu >> text=Status")
    assert page.locator(f'tr[data-export-id="{export_id}"]').count() == 1
    assert "running" in page.inner_text("#scheduler-state")
    page.screenshot(path=str(screenshots_dir / "web_status.png"), full_page=True)


def test_form_shows_the_api_error_next_to_the_field(site: Any, page: Any,
                                                    screenshots_dir: Path) -> None:
    page.goto(site.url + "/scheduler")
    page.fill("#f-name", "Bad delimiter")
    page.fill("#f-query", "SELECT 1")
    page.select_option("#sharing-mode", "filesystem")
    page.click("fieldset[data-sink=filesystem] summary")
    page.fill("#opt-filesystem-delimiter", ";;")
    page.click("#schedule-form button[type=submit]")
    error = page.locator("#schedule-form .form-error")
    error.wait_for(state="visible")
    assert "delimiter" in error.inner_text()
    field = page.locator('fieldset[data-sink=filesystem] .field[data-path="sink_options.delimiter"]')
    assert "single character" in field.locator(".field-error").inner_text()
    assert "invalid" in (field.get_attribute("class") or "")
    page.screenshot(path=str(screenshots_dir / "web_form_error.png"), full_page=True)
    assert "bad-delimiter" not in site.pstt.schedules.all()


def test_form_lists_the_next_fire_times_as_you_type(site: Any, page: Any,
                                                    screenshots_dir: Path) -> None:
    page.goto(site.url + "/scheduler")
    runs = page.locator("#f-next-runs li")
    runs.first.wait_for()  # the default trigger's times, on load
    page.select_option("#f-timezone", "Europe/Rome")  # a drop-down of IANA zones
    page.fill("#f-cron", "0 7 * * 1-5")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#f-next-runs li')].length === 5 && "
        "[...document.querySelectorAll('#f-next-runs li')].every(li => li.dataset.time && "
        "li.dataset.time.includes('T07:00:00'))")
    shown = [li.get_attribute("data-time") for li in runs.all()]
    expected = [t.isoformat() for t in preview(Trigger(type="cron", expression="0 7 * * 1-5"),
                                                "Europe/Rome")]
    assert shown == expected  # what a saved schedule's next_runs would say
    texts = runs.all_inner_texts()
    assert all(re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 07:00 \+0[12]:00", text)
               for text in texts), texts
    assert [text[4:14] for text in texts] == [t[:10] for t in expected]
    page.screenshot(path=str(screenshots_dir / "web_form_next_runs.png"), full_page=True)

    page.fill("#f-cron", "0 7 * * 8")
    error = page.locator("#f-next-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "day-of-week: 8 is out of range 0-7"
    assert runs.count() == 0
    page.screenshot(path=str(screenshots_dir / "web_form_next_runs_error.png"), full_page=True)

    page.select_option("#f-trigger-type", "interval")
    page.fill("#f-seconds", "5400")
    page.wait_for_function("() => document.querySelectorAll('#f-next-runs li').length === 5")
    assert error.is_hidden()
    times = [datetime.fromisoformat(li.get_attribute("data-time")) for li in runs.all()]
    assert {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)} == {5400}


def test_sharing_mode_dropdown_shows_each_plugins_fields(site: Any, page: Any,
                                                         screenshots_dir: Path) -> None:
    page.goto(site.url + "/scheduler")
    modes = page.locator("#sharing-mode option").evaluate_all("os => os.map(o => o.value)")
    assert {"filesystem", "webhook-test"} <= set(modes)
    fs = page.locator("fieldset[data-sink=filesystem]")
    hook = page.locator('fieldset[data-sink="webhook-test"]')
    page.select_option("#sharing-mode", "filesystem")
    assert fs.is_visible() and not hook.is_visible()
    assert page.locator("fieldset.sink-options:visible").count() == 1
    page.select_option("#sharing-mode", "webhook-test")
    assert hook.is_visible() and not fs.is_visible()
    # each widget of the plugin's option schema is rendered
    assert page.locator("#opt-webhook-test-method").evaluate("e => e.tagName") == "SELECT"
    assert page.locator("#opt-webhook-test-retries").get_attribute("type") == "number"
    assert page.locator("#opt-webhook-test-notes").evaluate("e => e.tagName") == "TEXTAREA"
    assert not page.locator("#opt-webhook-test-verbose").is_visible()  # advanced: folded
    page.screenshot(path=str(screenshots_dir / "web_plugin_fields.png"), full_page=True)

    page.fill("#f-name", "Hook schedule")
    page.fill("#f-query", "SELECT id FROM orders LIMIT 3")
    page.fill("#opt-webhook-test-url", "http://127.0.0.1:9/x")
    page.select_option("#opt-webhook-test-method", "PUT")
    page.fill("#opt-webhook-test-retries", "5")
    assert page.input_value("#opt-webhook-test-headers") == ""  # empty list default
    assert page.input_value("#opt-webhook-test-timeout") == "30.0"
    page.fill("#opt-webhook-test-headers", "X-A: 1\nX-B: 2")
    page.fill("#opt-webhook-test-timeout", "")  # optional: empty means null
    page.click('fieldset[data-sink="webhook-test"] summary')
    page.check("#opt-webhook-test-verbose")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_url(re.compile(r"/scheduler/hook-schedule$"))
    options = site.pstt.schedules.get("hook-schedule").sink_options
    assert options == {"url": "http://127.0.0.1:9/x", "method": "PUT", "retries": 5, "notes": "",
                       "headers": ["X-A: 1", "X-B: 2"], "timeout": None, "verbose": True}
    # the edit form is filled from the stored options
    assert page.input_value("#opt-webhook-test-retries") == "5"
    assert page.is_checked("#opt-webhook-test-verbose")
    page.select_option("#sharing-mode", "filesystem")
    assert not hook.is_visible()


def test_form_offers_the_excel_it_preset_and_the_file_uses_it(site: Any, page: Any,
                                                                screenshots_dir: Path) -> None:
    page.goto(site.url + "/scheduler")
    page.fill("#f-name", "Vendite Excel")
    page.select_option("#f-connection", "demo")
    page.fill("#f-query", "SELECT id, amount FROM orders ORDER BY id LIMIT 10")
    page.select_option("#sharing-mode", "filesystem")
    preset = page.locator("#opt-filesystem-locale")
    assert preset.is_visible()  # not folded among the advanced options
    choices = preset.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert choices == ["", "excel-it", "excel"]
    field = page.locator('fieldset[data-sink=filesystem] .field[data-path="sink_options.locale"]')
    assert "CSV locale preset" in field.locator("label").inner_text()
    assert "decimal comma" in field.locator(".help").inner_text()
    page.select_option("#opt-filesystem-locale", "excel-it")
    page.fill("#opt-filesystem-filename", "vendite_{export_id}.csv")
    field.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots_dir / "web_form_excel_it.png"), full_page=True)
    page.click("#schedule-form button[type=submit]")
    page.wait_for_url(re.compile(r"/scheduler/vendite-excel$"))
    saved = site.pstt.schedules.get("vendite-excel").sink_options
    assert saved["locale"] == "excel-it"
    assert (saved["delimiter"], saved["decimal_separator"]) == (",", ".")  # the preset decides
    assert page.input_value("#opt-filesystem-locale") == "excel-it"  # the edit form shows it

    page.click("button[data-action=run]")
    page.wait_for_selector("#flash.flash-success, #flash.flash-error")
    assert "finished: success, 10 rows" in page.inner_text("#flash"), page.inner_text("#flash")
    export_id = page.locator("#recent-runs tbody tr").first.get_attribute("data-export-id")
    data = (site.pstt.home.exports / f"vendite_{export_id}.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid;amount\r\n1;")
    assert re.search(rb"\r\n\d+;\d+,\d+\r\n", data)


def test_plugin_page_and_menu_link(site: Any, page: Any) -> None:
    page.goto(site.url + "/")
    page.click("nav.menu >> text=Hook")
    assert page.inner_text("#msg") == "hello from the hook plugin"
    assert page.locator("nav.menu a.active").inner_text() == "Hook"


def test_settings_page_test_buttons(site: Any, page: Any, screenshots_dir: Path) -> None:
    page.goto(site.url + "/settings")
    page.click("#databases button[data-test-url]")
    page.wait_for_selector("#databases .test-result.ok")
    assert page.inner_text("#databases .test-result").startswith("OK (")
    hook_row = page.locator('table[data-section="hook_endpoints"]')
    hook_row.locator("button").click()
    hook_row.locator(".test-result.ok").wait_for()
    html = page.content()
    assert "hunter2-hook" not in html and "********" in html
    assert "webhook-test" in page.inner_text("#sinks")
    page.screenshot(path=str(screenshots_dir / "web_settings.png"), full_page=True)


def test_logs_page_level_filter_and_search(site: Any, page: Any, screenshots_dir: Path) -> None:
    log = logging.getLogger("pstt.test")
    log.info("browser-marker routine line")
    log.warning("browser-marker something odd")
    log.error("browser-marker it broke")
    page.goto(site.url + "/logs")
    assert "browser-marker routine line" in page.inner_text("#log-lines")
    page.select_option("#log-filters select[name=level]", "warning")
    page.fill("#log-filters input[name=search]", "browser-marker")
    page.click("#log-filters button")
    page.wait_for_url(re.compile(r"level=warning"))
    text = page.inner_text("#log-lines")
    assert "something odd" in text and "it broke" in text
    assert "routine line" not in text
    page.screenshot(path=str(screenshots_dir / "web_logs.png"), full_page=True)


def test_script_in_a_schedule_name_is_shown_as_text(site: Any, page: Any) -> None:
    evil = "<script>alert(1)</script>"
    site.pstt.create_schedule({"id": "xss", "name": evil, "connection": "demo",
                               "query": "SELECT 1", "trigger": {"type": "interval", "seconds": 600},
                               "sharing_mode": "filesystem", "description": evil})
    for path in ("/scheduler", "/scheduler/xss"):
        page.goto(site.url + path)
        assert evil in page.inner_text("main")
    assert page.dialogs == []
    assert page.input_value("#f-name") == evil


@pytest.fixture(scope="module")
def locked_site(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Iterator[Any]:
    import shutil

    root = tmp_path_factory.mktemp("locked")
    shutil.copy(demo_db, root / "demo.db")
    home = HomeBuilder(root)
    csv_schedule(home, "locked-orders")
    pstt = home.pstt(environ={"PSTT_API_TOKEN": TOKEN, "PSTT_SCHEDULER_ENABLED": "false"})
    with LiveServer(pstt.asgi_app()) as server:
        yield server
    teardown_logging(root / "logs")


def test_login_flow_with_a_token(locked_site: Any, page: Any, screenshots_dir: Path) -> None:
    page.goto(locked_site.url + "/scheduler")
    page.wait_for_url(re.compile(r"/login\?next=%2Fscheduler$"))
    page.fill("#token", "wrong")
    page.click("#login-form button")
    assert "Wrong token" in page.inner_text("main")
    page.screenshot(path=str(screenshots_dir / "web_login_error.png"), full_page=True)
    page.fill("#token", TOKEN)
    page.click("#login-form button")
    page.wait_for_url(re.compile(r"/scheduler$"))
    assert "locked-orders" in page.inner_text("#schedules")
    # the page's script calls the API with the session and the CSRF token
    page.click("button[data-action=run]")
    page.wait_for_selector("#flash.flash-success, #flash.flash-error")
    assert "finished: success" in page.inner_text("#flash"), page.inner_text("#flash")
    assert TOKEN not in page.content()
    page.click("nav.menu button:has-text('Log out')")
    page.wait_for_url(re.compile(r"/login$"))
    status = page.evaluate("fetch('/api/schedules').then(r => r.status)")
    assert status == 401
