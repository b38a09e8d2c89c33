"""``pstt serve`` as a real process on the demo home: every page in Chromium, the demo
schedule run from the page, and unauthenticated requests refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import logs_text
from tests.processes import demo_server
from tests.web.conftest import TOKEN

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("served")
    with demo_server(home, PSTT_API_TOKEN=TOKEN) as (port, proc):
        yield f"http://127.0.0.1:{port}", home
    # a graceful shut-down, then the exit code a shell expects after SIGTERM (128 + 15)
    assert proc.returncode == 143
    logs = logs_text(home)
    assert "PSTT stopped" in logs and TOKEN not in logs


def test_unauthenticated_requests_are_refused(served: tuple[str, Path]) -> None:
    url, _ = served
    assert httpx.get(url + "/api/schedules").status_code == 401
    assert httpx.post(url + "/api/schedules/demo-orders-csv/run").status_code == 401
    assert httpx.get(url + "/scheduler").status_code == 303
    ok = httpx.get(url + "/api/schedules", headers={"Authorization": f"Bearer {TOKEN}"})
    assert {s["id"] for s in ok.json()["schedules"]} == {"demo-orders-csv", "demo-revenue-by-city",
                                                        "demo-orders-feed"}


def test_every_page_works_in_the_browser(served: tuple[str, Path], browser: Any,
                                         screenshots_dir: Path) -> None:
    url, home = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"{r.url} {r.failure}"))
    page.on("request", lambda r: None if r.url.startswith(url) else problems.append(r.url))
    page.goto(url + "/")
    page.fill("#token", TOKEN)
    page.click("#login-form button")
    page.wait_for_url(url + "/")
    labels = page.locator("nav.menu a:not(.brand)").all_inner_texts()
    assert labels[:3] == ["Status", "Scheduler", "History"]
    for label in labels:
        page.click(f"nav.menu >> text={label}")
        page.wait_for_load_state()
        assert page.locator("main h1").count() >= 1, label
        assert "Error" not in page.title(), label
        page.screenshot(path=str(screenshots_dir / f"serve_{label.lower()}.png"), full_page=True)
    page.goto(url + "/scheduler/demo-orders-csv")
    page.click("button[data-action=run]")
    # the run's outcome (success or error) replaces the "Running…" message after a reload
    page.wait_for_selector("#flash.flash-success, #flash.flash-error")
    flash = page.inner_text("#flash")
    assert "finished: success, 5000 rows" in flash, flash
    page.goto(url + "/history")
    assert re.search(r"success\s+filesystem", page.inner_text("#history"))
    assert list((home / "exports" / "demo").glob("orders_*.csv"))
    assert problems == []
    context.close()
