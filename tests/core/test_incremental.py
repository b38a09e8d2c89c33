"""Incremental schedules on real SQLite, PostgreSQL and MariaDB: every row once.

Writer processes insert rows (ties, late commits) while the schedule runs again and again;
the rows exported to JSON Lines must be exactly the table's. Failed, interrupted and
backfill runs must leave the watermark where it was.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pstt_core import Pstt
from pstt_core.watermarks import Mark
from tests.conftest import HomeBuilder, cli_env, wait_for
from tests.core.conftest import Recorder, table_on

ROOT = Path(__file__).resolve().parents[2]
# MariaDB sessions in a zone that is not UTC (PSTT's and the writers'): DATETIME values are
# that zone's wall clock.

DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, v TEXT)",
    "postgresql": "CREATE TABLE {t} (id BIGSERIAL PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, v TEXT)",
    "mysql": "CREATE TABLE {t} (id BIGINT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6) NOT NULL, "
             "v VARCHAR(64))",
}


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def feed_table(request: pytest.FixtureRequest, home: HomeBuilder,
               unique_name: str) -> Iterator[tuple[str, str]]:
    """(database URL, table): an empty feed table, dropped afterwards."""
    with table_on(request, home, unique_name, DDL, "feed") as (url, _engine):
        yield url, unique_name


def _writer(url: str, table: str, seconds: float, mode: str, seed: int,
            late: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.core.feed_writer", url, table,
                             str(seconds), mode, str(seed), str(late)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _late(url: str, delay: float) -> float:
    """How late a writer may commit: delay/2 after the stamp; on SQLite a writer also waits
    for the other one's lock (another ``late``), so each sleeps at most delay/4."""
    return delay / 4 if url.startswith("sqlite") else delay / 2


def _exported(pstt: Pstt, directory: str) -> collections.Counter[int]:
    ids: collections.Counter[int] = collections.Counter()
    for path in (pstt.export_root / directory).glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            ids[int(json.loads(line)["id"])] += 1
    return ids


def _table_ids(url: str, table: str) -> collections.Counter[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ids = collections.Counter(int(i) for (i,) in conn.execute(sa.text(f"SELECT id FROM {table}")))
    engine.dispose()
    return ids


def _feed_schedule(home: HomeBuilder, table: str, incremental: dict[str, Any],
                   query: str | None = None) -> None:
    home.add_schedule(id="feed", connection="feed",
                      query=query or f"SELECT id, ts, v FROM {table}",
                      incremental=incremental,
                      sink_options={"format": "jsonl", "directory": "feed",
                                    "filename": "{schedule_id}_{export_id}.{ext}"})


def _run_while(pstt: Pstt, writers: list[subprocess.Popen[str]], pause: float) -> list[Any]:
    records = []
    while any(w.poll() is None for w in writers):
        records.append(pstt.run("feed"))
        time.sleep(pause)
    return records


@pytest.mark.parametrize("cursor", ["timestamp+tiebreaker", "integer"])
def test_a_feed_under_concurrent_writes_delivers_every_row_once(
        cursor: str, feed_table: tuple[str, str], home: HomeBuilder) -> None:
    url, table = feed_table
    # late commits up to delay/2, so a loaded machine has delay/2 of slack before a commit
    # really is later than delay_sec
    delay = 4.0
    if cursor == "integer":  # ids committed in order: one writer, no late commits
        _feed_schedule(home, table, {"column": "id"})
        writers = [_writer(url, table, 10, "serial", 1, 0)]
    else:
        _feed_schedule(home, table, {"column": "ts", "tiebreaker": "id", "delay_sec": delay})
        writers = [_writer(url, table, 20, "ties", seed, _late(url, delay)) for seed in (1, 2)]
    pstt = home.pstt(logs=False)
    records = _run_while(pstt, writers, pause=0.7)
    for w in writers:
        assert w.wait(timeout=30) == 0
    time.sleep(delay + 0.5)  # the rows stamped in the last delay_sec become due
    records.append(pstt.run("feed"))
    assert all(r.status == "success" for r in records), [r.error for r in records]
    table_ids = _table_ids(url, table)
    exported = _exported(pstt, "feed")
    assert sum(table_ids.values()) > 50  # a busy machine writes fewer
    assert not [i for i, n in exported.items() if n > 1], "rows delivered twice"
    assert set(table_ids) - set(exported) == set(), "rows lost"
    assert exported == table_ids
    assert sum(r.rows for r in records) == sum(table_ids.values())
    # each run started where the previous one ended
    for before, after in zip(records, records[1:], strict=False):
        assert after.extra["watermark_from"] == before.extra["watermark_to"]
    stored = pstt.watermarks.get("feed")
    assert stored is not None and stored.export_id == records[-1].export_id \
        or records[-1].rows == 0


def test_a_failed_run_leaves_the_watermark_and_the_next_delivers_its_rows(
        home: HomeBuilder) -> None:
    home.add_schedule(id="inc", query="SELECT id, ordered_at FROM orders",
                      incremental={"column": "ordered_at", "tiebreaker": "id"},
                      sink_options={"format": "jsonl", "directory": "out",
                                    "filename": "{export_id}.{ext}"})
    pstt = home.pstt(logs=False)
    first = pstt.run("inc")
    assert first.status == "success" and first.rows == 500
    mark = pstt.watermarks.get("inc")
    assert mark is not None
    con = sa.create_engine(f"sqlite:///{home.root / 'demo.db'}")
    with con.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders (id, ordered_at) VALUES "
                             "(9001, '2027-01-01T00:00:00+00:00'), "
                             "(9002, '2027-01-01T00:00:00+00:00')"))
    blocked = pstt.export_root / "out"
    moved = blocked.rename(blocked.with_name("out-before"))
    blocked.write_text("a file where the directory should be")  # the sink cannot write
    failed = pstt.run("inc")
    assert failed.status == "failed" and "File exists" in (failed.error or "")
    assert pstt.watermarks.get("inc") == mark  # not moved
    blocked.unlink()
    moved.rename(blocked)
    again = pstt.run("inc")
    assert (again.status, again.rows) == ("success", 2)
    assert again.extra["watermark_from"] == first.extra["watermark_to"]
    assert pstt.watermarks.get("inc").mark.tiebreaker == 9002  # type: ignore[union-attr]
    con.dispose()


def test_an_interrupted_run_leaves_the_watermark(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="inc", query="SELECT id, ordered_at FROM orders", batch_size=10,
                      incremental={"column": "id"}, sharing_mode="recorder",
                      sink_options={"delay": 0.05})
    pstt = home.pstt(logs=False)
    pstt.watermarks.set("inc", column="id", tiebreaker=None, mark=Mark(100))
    before = pstt.watermarks.get("inc")
    stopper = threading.Timer(0.5, pstt.runner.interrupt, args=("stopped by the test",))
    stopper.start()
    record = pstt.run("inc")
    stopper.join()
    assert record.status == "interrupted" and 0 < record.rows < 400
    assert pstt.watermarks.get("inc") == before
    record = home.pstt(logs=False).run("inc")  # a new process, as after a restart
    assert (record.status, record.rows) == ("success", 400)  # ids 101-500, all of them again
    assert recorder.last().rows[0][0] == 101


def test_a_killed_run_process_leaves_the_watermark(home: HomeBuilder) -> None:
    """SIGKILL of ``pstt run`` mid-run: the orphan becomes interrupted, the mark stays."""
    home.add_schedule(id="inc", query="SELECT o.id, o.ordered_at FROM orders o, orders p "
                                      "WHERE p.id <= 500", batch_size=50,
                      incremental={"column": "id"},
                      sink_options={"format": "jsonl", "directory": "out"})
    home.write()
    proc = subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home.root), "run",
                             "inc", "--no-progress"], env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    journal = home.root / "exports" / ".journal"
    wait_for(lambda: list(journal.glob("*.json")), timeout=30)
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=10)
    pstt = Pstt(home.root, logs=False)
    pstt.recover_runs()
    assert [r["status"] for r in pstt.history.query(schedule_id="inc")[1]] == ["interrupted"]
    assert pstt.watermarks.get("inc") is None


def test_backfill_exports_the_window_and_leaves_the_watermark(home: HomeBuilder) -> None:
    home.add_schedule(id="inc", query="SELECT id, ordered_at FROM orders",
                      incremental={"column": "ordered_at", "tiebreaker": "id",
                                   "start": "2026-06-01T00:00:00+00:00"},
                      sink_options={"format": "jsonl", "directory": "out",
                                    "filename": "{export_id}.{ext}"})
    pstt = home.pstt(logs=False)
    first = pstt.run("inc")
    engine = sa.create_engine(f"sqlite:///{home.root / 'demo.db'}")
    with engine.connect() as conn:
        since_june = conn.execute(sa.text("SELECT COUNT(*) FROM orders WHERE ordered_at >= "
                                          "'2026-06-01T00:00:00+00:00'")).scalar_one()
        january = {i for (i,) in conn.execute(sa.text(
            "SELECT id FROM orders WHERE ordered_at >= '2026-01-01' AND ordered_at < '2026-02-01'"))}
    engine.dispose()
    assert first.rows == since_june  # start is inclusive
    mark = pstt.watermarks.get("inc")
    window = pstt.backfill_window("inc", "2026-01-01", "2026-02-01")
    back = pstt.run("inc", window=window)
    assert (back.status, back.trigger) == ("success", "backfill")
    path = pstt.export_root / back.extra["path"]
    assert {json.loads(line)["id"] for line in path.read_text().splitlines()} == january
    assert pstt.watermarks.get("inc") == mark
    # typed like the watermark: SQLite keeps its times as text
    assert back.extra["backfill"] == {"from": {"value": "2026-01-01", "type": "text"},
                                      "to": {"value": "2026-02-01", "type": "text"}}
    # reset: the next run starts from start again
    assert pstt.reset_watermark("inc")["reset"] is True
    again = pstt.run("inc")
    assert again.rows == since_june and again.extra["watermark_from"] is None


def test_manual_runs_commit_like_scheduled_ones(home: HomeBuilder) -> None:
    home.add_schedule(id="inc", query="SELECT id FROM orders", incremental={"column": "id"},
                      trigger={"type": "interval", "seconds": 1},
                      sink_options={"format": "jsonl", "directory": "out",
                                    "filename": "{export_id}.{ext}"})
    pstt = home.pstt(logs=False)
    manual = pstt.run("inc")
    assert manual.trigger == "manual" and manual.rows == 500
    assert pstt.watermarks.get("inc").mark.value == 500  # type: ignore[union-attr]
    pstt.start()
    try:
        wait_for(lambda: any(r["trigger"] == "schedule"
                             for r in pstt.history.query(schedule_id="inc")[1]), timeout=15)
    finally:
        pstt.stop()
    scheduled = [r for r in pstt.history.query(schedule_id="inc")[1] if r["trigger"] == "schedule"]
    assert scheduled and all(r["rows"] == 0 for r in scheduled)  # nothing new since


def test_changing_the_cursor_needs_a_reset_in_the_same_request(home: HomeBuilder) -> None:
    home.add_schedule(id="inc", query="SELECT id, ordered_at FROM orders",
                      incremental={"column": "id"},
                      sink_options={"format": "jsonl", "directory": "out",
                                    "filename": "{export_id}.{ext}"})
    pstt = home.pstt(logs=False)
    assert pstt.run("inc").status == "success"
    from pstt_core.errors import ConfigError

    with pytest.raises(ConfigError, match="reset_watermark") as info:
        pstt.patch_schedule("inc", {"incremental": {"column": "ordered_at"}})
    assert info.value.path == "$.incremental.column"
    assert pstt.schedules.get("inc").incremental.column == "id"  # type: ignore[union-attr]
    pstt.patch_schedule("inc", {"incremental": {"column": "ordered_at"},
                                "reset_watermark": True})
    assert pstt.watermarks.get("inc") is None
    assert "reset_watermark" not in json.loads(
        (home.root / "exports" / "schedules.json").read_text())["schedules"][0]
    assert pstt.run("inc").rows == 500


def test_bad_incremental_blocks_name_the_field(home: HomeBuilder) -> None:
    from pstt_core.errors import ConfigError

    pstt = home.pstt(logs=False)
    base = {"name": "x", "connection": "demo", "trigger": {"type": "interval", "seconds": 60},
            "sharing_mode": "filesystem"}
    cases = [
        ({"query": "SELECT * FROM orders", "incremental": {"colum": "id"}},
         "$.incremental", "colum (did you mean column?)"),
        ({"query": "SELECT * FROM orders", "incremental": {"column": "id", "delay_sec": -1}},
         "$.incremental.delay_sec", "0 or more"),
        ({"query": "SELECT * FROM orders WHERE id > :pstt_low", "incremental": {"column": "id"}},
         "$.incremental.start", ":pstt_low"),
        ({"query": "SELECT * FROM orders", "incremental": {"column": "id", "start": [1]}},
         "$.incremental.start", "must be"),
    ]
    for body, path, text in cases:
        with pytest.raises(ConfigError) as info:
            pstt.create_schedule({**base, **body})
        assert any(p == path and text in m for p, m in info.value.problems) \
            or (info.value.path == path and text in info.value.message), info.value.problems


def test_the_own_predicate_form_binds_low_and_high(home: HomeBuilder, recorder: Recorder) -> None:
    """GROUP BY needs the predicate inside: :pstt_low / :pstt_high, no wrapping."""
    query = ("SELECT MAX(ordered_at) AS ordered_at, substr(ordered_at, 1, 10) AS day, "
             "COUNT(*) AS n FROM orders WHERE ordered_at > :pstt_low AND ordered_at <= :pstt_high "
             "GROUP BY day ORDER BY ordered_at")
    home.add_schedule(id="agg", query=query, sharing_mode="recorder",
                      incremental={"column": "ordered_at", "delay_sec": 0,
                                   "start": "2026-11-01T00:00:00+00:00"})
    pstt = home.pstt(logs=False)
    first = pstt.run("agg")
    assert first.status == "success", first.error
    assert first.rows > 0 and all(r[1] >= "2026-11-01" for r in recorder.last().rows)
    assert pstt.run("agg").rows == 0


def test_typed_watermarks_survive_exactly_on_postgresql(home: HomeBuilder, pg_url: str,
                                                       unique_name: str) -> None:
    """A timestamptz with microseconds, a NUMERIC beyond float precision and a BIGINT beyond
    2**53 are stored and bound back exactly."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {unique_name} (id BIGINT PRIMARY KEY, "
                             "ts TIMESTAMPTZ, amount NUMERIC(30,10))"))
        conn.execute(sa.text(
            f"INSERT INTO {unique_name} VALUES (9007199254740993, "
            "'2026-01-21 08:00:00.123457+01', 12345678901234567890.0000000001), "
            "(9007199254740995, '2026-01-21 08:00:00.123458+01', 12345678901234567890.0000000002)"))
    home.add_database("pg", pg_url)
    try:
        for column in ("id", "ts", "amount"):
            home.schedules.clear()
            home.add_schedule(id="t", connection="pg", query=f"SELECT * FROM {unique_name}",
                              incremental={"column": column},
                              sink_options={"format": "jsonl", "directory": "t",
                                            "filename": "{export_id}.{ext}"})
            pstt = home.pstt(logs=False)
            pstt.watermarks.reset("t")
            first = pstt.run("t")
            assert (first.status, first.rows) == ("success", 2), first.error
            stored = pstt.watermarks.get("t")
            assert stored is not None
            raw = json.loads((home.root / "exports" / "watermarks.json").read_text())
            kind = raw["watermarks"]["t"]["type"]
            assert kind == {"id": "int", "ts": "datetime", "amount": "decimal"}[column]
            assert raw["watermarks"]["t"]["value"] in (
                "9007199254740995", "2026-01-21T07:00:00.123458+00:00",
                "12345678901234567890.0000000002")
            if column == "amount":
                assert stored.mark.value == Decimal("12345678901234567890.0000000002")
            assert pstt.run("t").rows == 0  # bound back exactly: the last row is not repeated
            pstt.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {unique_name}"))
        engine.dispose()


def test_a_timed_out_run_leaves_the_watermark(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="inc", query="SELECT id FROM orders", batch_size=10, timeout_sec=0.5,
                      incremental={"column": "id"}, sharing_mode="recorder",
                      sink_options={"delay": 0.05})
    pstt = home.pstt(logs=False)
    record = pstt.run("inc")
    assert record.status == "failed" and "timed out" in (record.error or "")
    assert pstt.watermarks.get("inc") is None


def test_a_damaged_watermarks_file_fails_the_run_and_is_reported(home: HomeBuilder) -> None:
    home.add_schedule(id="inc", query="SELECT id FROM orders", incremental={"column": "id"},
                      trigger={"type": "interval", "seconds": 1},
                      sink_options={"format": "jsonl", "directory": "out",
                                    "filename": "{export_id}.{ext}"})
    pstt = home.pstt(logs=False)
    path = home.root / "exports" / "watermarks.json"
    path.write_text('{"watermarks": {"inc": {"column": "id", "value": "x", "type": "int"}}}')
    record = pstt.run("inc")
    assert record.status == "failed"
    assert "watermarks.json" in (record.error or "") and "$.watermarks.inc" in record.error
    assert record.rows == 0
    assert any("watermarks.json" in str(p) for p in pstt.state_problems())
    assert path.read_text().startswith('{"watermarks": {"inc": {"column": "id", "value": "x"')


def test_a_watermark_set_during_a_run_is_not_overwritten_by_it(home: HomeBuilder,
                                                              recorder: Recorder) -> None:
    home.add_schedule(id="inc", query="SELECT id FROM orders", batch_size=50,
                      incremental={"column": "id"}, sharing_mode="recorder",
                      sink_options={"delay": 0.1})
    pstt = home.pstt(logs=False)
    done: list[Any] = []
    runner = threading.Thread(target=lambda: done.append(pstt.run("inc")))
    runner.start()
    assert recorder.started.wait(10)
    pstt.set_watermark("inc", {"value": 250})
    runner.join(30)
    record = done[0]
    assert (record.status, record.rows) == ("success", 500)
    assert record.extra["watermark_to"]["value"] == "500"  # what it delivered …
    stored = pstt.watermarks.get("inc")
    assert stored is not None and stored.mark.value == 250 and stored.source == "set"  # … not moved
    assert pstt.run("inc").rows == 250  # 251-500 come again: the person's choice stands


def test_pstt_parameters_outside_an_incremental_schedule_say_why(home: HomeBuilder) -> None:
    home.add_schedule(id="plain", query="SELECT id FROM orders WHERE id > :pstt_low")
    record = home.pstt(logs=False).run("plain")
    assert record.status == "failed"
    assert "bound for incremental schedules only" in (record.error or "")
