"""Result gates (``on_empty``, ``min_rows``, ``max_rows``) for every sharing mode, checked by
the core before the delivery becomes visible: no file, no mail, nothing on the topic."""

from __future__ import annotations

import pytest

from pstt_core import ConfigError
from tests.conftest import HomeBuilder

EMPTY = "SELECT * FROM orders WHERE id < 0"
TEN = "SELECT * FROM orders WHERE id <= 10 ORDER BY id"


def _exports(home: HomeBuilder) -> list[str]:
    return sorted(p.name for p in (home.root / "exports").iterdir()
                  if p.is_file() and p.suffix == ".csv")


@pytest.mark.parametrize("on_empty,status", [("skip", "skipped"), ("fail", "failed")])
def test_filesystem_empty_result_skip_or_fail_writes_no_file(home: HomeBuilder, on_empty: str,
                                                             status: str) -> None:
    home.add_schedule(id="f", query=EMPTY, on_empty=on_empty,
                      sink_options={"filename": "empty.csv"})
    pstt = home.pstt(logs=False)
    record = pstt.run("f")
    assert record.status == status
    assert "returned no rows" in (record.error or "") and f"on_empty: {on_empty}" in record.error
    assert record.extra["rows_delivered"] == 0
    assert _exports(home) == []
    assert not any(p.name.endswith(".tmp") for p in (home.root / "exports").rglob("*"))
    assert pstt.history.get(record.export_id)["status"] == status


def test_filesystem_default_on_empty_sends_a_header_only_file(home: HomeBuilder) -> None:
    home.add_schedule(id="f", query=EMPTY, sink_options={"filename": "empty.csv"})
    record = home.pstt(logs=False).run("f")
    assert record.status == "success"
    assert _exports(home) == ["empty.csv"]


def test_filesystem_min_and_max_rows(home: HomeBuilder) -> None:
    home.add_schedule(id="few", query=TEN, min_rows=11, sink_options={"filename": "few.csv"})
    home.add_schedule(id="many", query="SELECT * FROM orders", max_rows=99, batch_size=50,
                      sink_options={"filename": "many.csv"})
    home.add_schedule(id="ok", query=TEN, min_rows=10, max_rows=10,
                      sink_options={"filename": "ok.csv"})
    pstt = home.pstt(logs=False)
    few = pstt.run("few")
    assert few.status == "failed" and "fewer than min_rows (11)" in few.error
    many = pstt.run("many")
    # stopped as soon as the count passed max_rows: the second batch of 50
    assert many.status == "failed" and "more than max_rows (99)" in many.error
    assert many.rows == 100
    assert pstt.run("ok").status == "success"
    assert _exports(home) == ["ok.csv"]


def test_bad_gate_values_are_refused_with_their_path(home: HomeBuilder) -> None:
    pstt = home.pstt(logs=False)
    base = {"id": "g", "name": "G", "connection": "demo", "query": TEN,
            "trigger": {"type": "interval", "seconds": 60}, "sharing_mode": "filesystem"}
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "on_empty": "ignore", "min_rows": -1})
    text = str(err.value)
    assert "on_empty" in text and "send, skip, fail" in text and "min_rows" in text
    with pytest.raises(ConfigError) as err:
        pstt.create_schedule({**base, "min_rows": 5, "max_rows": 2})
    assert "max_rows" in str(err.value) and "at least min_rows (5)" in str(err.value)
