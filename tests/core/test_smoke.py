"""End-to-end: the demo schedule through the facade writes a complete CSV."""

from __future__ import annotations

import csv

from tests.conftest import HomeBuilder


def test_demo_schedule_exports_every_order(home: HomeBuilder) -> None:
    home.add_schedule(id="orders", sink_options={"format": "csv", "filename": "orders.csv"})
    pstt = home.pstt()
    record = pstt.run("orders")
    assert record.status == "success", record.error
    assert record.rows == 500
    with open(home.root / "exports" / "orders.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 500
    assert [int(r["id"]) for r in rows] == list(range(1, 501))
    history = pstt.history.query(schedule_id="orders")[1]
    assert history[0]["export_id"] == record.export_id
    assert history[0]["path"] == "orders.csv"
