"""The schedule form carries the result checks and the staleness alert; the script sends
them and suggests twice the interval between fires."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.conftest import HomeBuilder

SCRIPT = Path(__file__).parents[2] / "src" / "pstt_core" / "web" / "static" / "schedule-form.js"


def test_form_has_the_checks_and_the_script_sends_them(home: HomeBuilder) -> None:
    pstt = home.pstt(logs=False, environ={"PSTT_SCHEDULER_ENABLED": "false"})
    with TestClient(pstt.asgi_app(), base_url="http://localhost") as client:
        page = client.get("/scheduler")
    assert page.status_code == 200
    for name in ("on_empty", "min_rows", "max_rows", "max_staleness_sec"):
        assert f'name="{name}"' in page.text
    assert '<option value="skip">' in page.text and 'id="f-staleness-hint"' in page.text
    script = SCRIPT.read_text(encoding="utf-8")
    assert 'on_empty: form.elements.on_empty.value' in script
    assert '["min_rows", "max_rows", "max_staleness_sec"]' in script
    assert "suggestStaleness(data.next_runs)" in script and "2 * gap" in script
