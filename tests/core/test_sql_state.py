"""The SQL state backend (``PSTT_STATE_URL``): schema upgrades, refusal of an old schema, and
several instances on several homes sharing one database (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pstt_core.models import RunRecord
from pstt_core.sql_state import SqlBackend
from pstt_core.sql_state import schema as sql_schema
from tests.conftest import HomeBuilder, free_port, pstt_process, wait_listening
from tests.processes import start_pstt


def _homes(tmp_path: Path, demo_db: Path, count: int) -> list[HomeBuilder]:
    import shutil

    homes = []
    for i in range(count):
        root = tmp_path / f"home{i}"
        root.mkdir()
        shutil.copy(demo_db, root / "demo.db")
        homes.append(HomeBuilder(root))
    return homes


@pytest.fixture
def pg_state_url(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = "pstt_state_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_run_refuses_a_database_without_the_schema_until_state_upgrade(
        home: HomeBuilder, tmp_path: Path) -> None:
    home.add_schedule(id="orders", sink_options={"format": "csv", "filename": "o_{export_id}.csv"})
    root = home.write()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    refused = pstt_process(root, "run", "orders", PSTT_STATE_URL=url)
    assert refused.returncode == 2, refused.stderr
    assert "has no PSTT tables: run `pstt state upgrade`" in refused.stderr
    assert not list((root / "exports").glob("o_*.csv"))  # nothing delivered

    upgraded = pstt_process(root, "state", "upgrade", PSTT_STATE_URL=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema (none) → {sql_schema.head()}" in upgraded.stdout
    again = pstt_process(root, "state", "upgrade", PSTT_STATE_URL=url)
    assert "is current; nothing to do" in again.stdout
    # the schedules are in the database now: the home's file is not used until migrated
    unknown = pstt_process(root, "run", "orders", PSTT_STATE_URL=url)
    assert unknown.returncode == 2 and "no schedule with id 'orders'" in unknown.stderr
    assert "schedules.json is not used: with PSTT_STATE_URL the schedules are in the state " \
        "database; `pstt state migrate --to URL` copies them there" in unknown.stderr
    copied = pstt_process(root, "state", "migrate", "--to", url)
    assert "schedules and watermarks copied: schedules" in copied.stdout, copied.stdout

    ran = pstt_process(root, "run", "orders", PSTT_STATE_URL=url)
    assert ran.returncode == 0, ran.stderr
    assert not (root / "exports" / "scheduler_history.json").exists()  # in the database
    listed = pstt_process(root, "history", "--json", PSTT_STATE_URL=url)
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["schedule_id"], r["status"], r["rows"]) for r in runs] == [("orders", "success", 500)]


def test_an_older_schema_is_refused_with_a_message(home: HomeBuilder, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a database written by a later (or earlier) PSTT
        conn.execute(sa.text("CREATE TABLE pstt_alembic_version (version_num VARCHAR(32) "
                             "NOT NULL PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO pstt_alembic_version VALUES ('0000')"))
    engine.dispose()
    home.add_schedule(id="orders")
    refused = pstt_process(home.write(), "run", "orders", PSTT_STATE_URL=url)
    assert refused.returncode == 2
    assert f"has schema 0000, this PSTT needs {sql_schema.head()}: run `pstt state upgrade`" \
        in refused.stderr


def _backend(url: str, name: str) -> SqlBackend:
    backend = SqlBackend(url, instance=lambda: name)
    sql_schema.upgrade(backend.engine)
    return backend


def _record(i: int, schedule_id: str = "s", status: str = "success") -> RunRecord:
    return RunRecord(export_id=f"run-{i}", schedule_id=schedule_id, sharing_mode="filesystem",
                     status=status, started_at=f"2026-03-01T08:{i // 60:02d}:{i % 60:02d}+00:00",
                     finished_at="2026-03-01T09:00:00+00:00", duration_sec=1.5, rows=10)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_n_writers_lose_nothing(kind: str, tmp_path: Path, request: Any) -> None:
    url = (f"sqlite:///{tmp_path / 'state.db'}" if kind == "sqlite"
           else request.getfixturevalue("pg_state_url"))
    backends = [_backend(url, f"host/{i}") for i in range(3)]
    errors: list[BaseException] = []

    def work(n: int, backend: SqlBackend) -> None:
        try:
            for i in range(20):
                backend.history.put(_record(n * 100 + i, status="failed" if i % 5 == 0 else "success"))
                backend.documents.modify("kafka", lambda d: {**d, "n": d.get("n", 0) + 1})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n, b)) for n, b in enumerate(backends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    first = backends[0]
    assert first.documents.read("kafka") == {"n": 60}
    total, runs = first.history.query(limit=None)
    assert total == 60 and len({r["export_id"] for r in runs}) == 60
    counters = first.counters.data()
    assert (counters["total"]["runs"], counters["total"]["failed"],
            counters["total"]["rows"]) == (60, 12, 600)
    assert counters["schedules"]["s"]["last_success_at"] is not None
    at = first.counters.last_success("s")
    assert at is not None
    # a record put again (a journal merge cut short) replaces its row, never doubles it
    assert first.history.put(_record(0)) is False
    assert first.history.query(limit=None)[0] == 60
    # one claim per fire, whichever backend asks
    from datetime import datetime, timezone
    fire = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    assert [b.claims.claim("s", fire) for b in backends] == [True, False, False]
    assert backends[2].claims.holder("s", fire) == "host/0"
    for b in backends:
        b.close()


def _post(port: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        return json.loads(resp.read())


def _schedule(sid: str, seconds: int = 1, query: str = "SELECT 1 AS one") -> dict[str, Any]:
    return {"id": sid, "name": sid, "connection": "demo", "query": query,
            "trigger": {"type": "interval", "seconds": seconds}, "timezone": "UTC",
            "enabled": True, "sharing_mode": "filesystem",
            "sink_options": {"format": "csv", "filename": f"{sid}_{{export_id}}.csv"}}


def _serve(homes: list[HomeBuilder], url: str, **env: str) -> tuple[list[int], list[Any]]:
    """``pstt serve`` on each home, all on the state database ``url``, listening."""
    for h in homes:
        h.write()
    ports = [free_port() for _ in homes]
    procs = [start_pstt(h.root, "serve", "--port", str(port), PSTT_STATE_URL=url,
                        PSTT_INSTANCE_NAME=f"i{n}", PSTT_SCHEDULES_RELOAD_SEC="1", **env)
             for n, (h, port) in enumerate(zip(homes, ports, strict=True))]
    for port, proc in zip(ports, procs, strict=True):
        wait_listening(port, proc, 60, "pstt serve")
    return ports, procs


def _stop(procs: list[Any]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.communicate(timeout=60)


@pytest.mark.slow
def test_three_instances_share_postgresql_and_run_each_fire_once(
        tmp_path: Path, demo_db: Path, pg_state_url: str) -> None:
    homes = _homes(tmp_path, demo_db, 3)
    assert pstt_process(homes[0].write(), "state", "upgrade",
                        PSTT_STATE_URL=pg_state_url).returncode == 0
    ports, procs = _serve(homes, pg_state_url)
    try:
        # schedules created through instance A reach B and C (they poll the document)
        for i in range(3):
            _post(ports[0], "/api/schedules", _schedule(f"tick{i}"))
        _post(ports[0], "/api/schedules", _schedule("hourly", 3600))  # for a manual run
        time.sleep(25)
        # one deleted through C stops firing everywhere
        req = urllib.request.Request(f"http://127.0.0.1:{ports[2]}/api/schedules/tick2",
                                     method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()
        deleted_at = time.time()
        listed = {s["id"] for s in _get(ports[1], "/api/schedules")["schedules"]}
        # a manual run through instance B is in the history that instance A shows
        manual = _post(ports[1], "/api/schedules/hourly/run", {})
        assert _get(ports[0], f"/api/runs/{manual['export_id']}")["status"] == "success"
        time.sleep(4)
        health = _get(ports[0], "/api/health")
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/metrics", timeout=30) as r:
            metrics = r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/", timeout=30) as r:
            page = r.read().decode()
        _stop(procs[2:])  # C stops: the others see it gone
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/metrics", timeout=30) as r:
            metrics_after = r.read().decode()
    finally:
        _stop(procs)
    assert listed == {"tick0", "tick1", "hourly"}
    # every instance sees the three alive, then C stopped
    for n in range(3):
        assert f'pstt_instance_up{{instance="{socket.gethostname()}/i{n}"}} 1.0' in metrics, metrics
        assert f"/i{n}</b>" in page
    assert "State: sql" in page
    for n, up in ((0, "1.0"), (1, "1.0"), (2, "0.0")):
        assert f'pstt_instance_up{{instance="{socket.gethostname()}/i{n}"}} {up}' in metrics_after
    rows = _runs(pg_state_url)
    fired = [r for r in rows if r["trigger"] == "schedule"]
    per_fire = Counter((r["schedule_id"], r["scheduled_at"]) for r in fired)
    assert [k for k, n in per_fire.items() if n > 1] == [], "a fire ran twice"
    for sid in ("tick0", "tick1", "tick2"):
        assert sum(1 for k in per_fire if k[0] == sid) >= 15, per_fire  # ~25 fires each
        runs = sorted((r for r in rows if r["schedule_id"] == sid and r["status"] == "success"),
                      key=lambda r: r["started_at"])
        overlapping = [(a["export_id"], b["export_id"]) for a, b in zip(runs, runs[1:], strict=False)
                       if b["started_at"] < a["finished_at"]]
        assert overlapping == [], "two runs of one schedule overlapped"
    assert {r["instance"].split("/")[1] for r in fired} == {"i0", "i1", "i2"}  # all took part
    late = [r for r in fired if r["schedule_id"] == "tick2"
            and datetime.fromisoformat(r["scheduled_at"]).timestamp() > deleted_at + 2]
    assert late == [], "a deleted schedule kept firing"
    assert manual["export_id"] in {r["export_id"] for r in rows}
    assert not (homes[0].root / "exports" / "scheduler_history.json").exists()
    home_file = json.loads((homes[0].root / "exports" / "schedules.json").read_text())
    assert home_file["schedules"] == []  # the schedules are in the database
    records = next(c for c in health["checks"] if c["name"] == "records")
    assert records["status"] == "healthy", records
    state = records["data"]["state"]
    assert state["backend"] == "sql" and state["instance"].endswith("/i0")
    assert pg_state_url.rsplit("/", 1)[1] in state["location"]
    assert {i["instance"].split("/")[1]: i["alive"] for i in state["instances"]
            } == {"i0": True, "i1": True, "i2": True}


def test_migrate_copies_10k_records_once_and_export_writes_them_back(
        home: HomeBuilder, tmp_path: Path) -> None:
    home.add_schedule(id="s")
    root = home.write()
    records = [_record(i).to_dict() | {"path": f"/out/{i}.csv"} for i in range(10_000)]
    (root / "exports" / "scheduler_history.json").write_text(json.dumps(records))
    kafka = {"version": 1, "buckets": [], "totals_by_topic": [
        {"topic": "orders", "connection": "local", "messages": 7, "bytes": 70, "failures": 0}],
        "kept": "as found"}
    (root / "exports" / "kafka_metrics.json").write_text(json.dumps(kafka))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    before = pstt_process(root, "history", "--json", "--limit", "50")

    first = pstt_process(root, "state", "migrate", "--to", url)
    assert first.returncode == 0, first.stderr
    assert "10000 record(s) in" in first.stdout and "; 10000 added to" in first.stdout
    assert "plugin documents copied: kafka" in first.stdout
    again = pstt_process(root, "state", "migrate", "--to", url)
    assert "; 0 added to" in again.stdout and "(10000 there now" in again.stdout
    assert (root / "exports" / "scheduler_history.json").exists()  # left in place

    after = pstt_process(root, "history", "--json", "--limit", "50", PSTT_STATE_URL=url)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pstt_runs")).scalar() == 10_000
    engine.dispose()

    out = tmp_path / "exported"
    exported = pstt_process(root, "state", "export", str(out), PSTT_STATE_URL=url)
    assert exported.returncode == 0, exported.stderr
    assert json.loads((out / "scheduler_history.json").read_text()) == records
    assert json.loads((out / "kafka_metrics.json").read_text()) == kafka
    counters = json.loads((out / "scheduler_metrics.json").read_text())
    assert counters["total"]["runs"] == 10_000 and counters["total"]["rows"] == 100_000


def _lease(url: str) -> Any:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT schedule_id, export_id, instance FROM pstt_leases"
                                        )).first()
    finally:
        engine.dispose()


def _runs(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [json.loads(t) for t in
                    conn.execute(sa.text("SELECT record FROM pstt_runs ORDER BY seq")).scalars()]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkill_of_the_lease_holder_is_recorded_lost_and_another_instance_runs_on(
        tmp_path: Path, demo_db: Path, pg_state_url: str) -> None:
    import signal

    from tests.conftest import wait_for

    homes = _homes(tmp_path, demo_db, 2)
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
            "200000000) SELECT count(*) AS n FROM c")
    assert pstt_process(homes[0].write(), "state", "upgrade",
                        PSTT_STATE_URL=pg_state_url).returncode == 0
    ports, procs = _serve(homes, pg_state_url, PSTT_LEASE_TTL_SEC="3")
    try:
        _post(ports[0], "/api/schedules", _schedule("slow", 2, slow))
        lease = wait_for(lambda: _lease(pg_state_url), timeout=30, what="a run holding its lease")
        holder = int(lease.instance.rsplit("/i", 1)[1])
        other = 1 - holder
        # a manual run through the other instance is refused while the lease is held
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(ports[other], "/api/schedules/slow/run", {})
        assert refused.value.code == 409
        assert f"on instance {lease.instance}" in json.loads(refused.value.read())["error"]
        procs[holder].send_signal(signal.SIGKILL)
        procs[holder].wait(30)
        lost = wait_for(lambda: [r for r in _runs(pg_state_url)
                                 if r["export_id"] == lease.export_id
                                 and r["status"] == "interrupted"],
                        timeout=3 + 15, what="the lost run recorded interrupted")[0]
        assert lost["error"].startswith(f"instance lost: {lease.instance} stopped heartbeating")
        assert lost["scheduled_at"] and lost["instance"] == lease.instance
        # the schedule fires again on its cadence, from the surviving instance
        again = wait_for(lambda: (lambda row: row if row and row.export_id != lease.export_id
                                  else None)(_lease(pg_state_url)), timeout=15,
                         what="a new run of the schedule")
        assert again.instance.endswith(f"/i{other}")
        fired = [r for r in _runs(pg_state_url) if r["trigger"] == "schedule"]
        per_fire = Counter(r["scheduled_at"] for r in fired)
        assert [k for k, n in per_fire.items() if n > 1] == []
    finally:
        _stop(procs)


def _connections(url: str, allowed: bool) -> None:
    """Let clients connect to the state database again, or refuse them and end every session
    (the database is away for PSTT)."""
    name = sa.make_url(url).database
    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :name"), {"name": name})
    finally:
        admin.dispose()


@pytest.mark.slow
def test_a_manual_run_while_the_state_database_is_down_is_refused_and_delivers_nothing(
        tmp_path: Path, demo_db: Path, pg_state_url: str) -> None:
    [home] = _homes(tmp_path, demo_db, 1)
    assert pstt_process(home.write(), "state", "upgrade",
                        PSTT_STATE_URL=pg_state_url).returncode == 0
    ports, procs = _serve([home], pg_state_url)
    try:
        _post(ports[0], "/api/schedules", _schedule("orders", 3600,
                                                    "SELECT id FROM orders"))
        _connections(pg_state_url, allowed=False)
        try:
            with pytest.raises(urllib.error.HTTPError) as refused:
                _post(ports[0], "/api/schedules/orders/run", {})
            answer = json.loads(refused.value.read())
            health = _get(ports[0], "/api/health")
        finally:
            _connections(pg_state_url, allowed=True)
        ran = _post(ports[0], "/api/schedules/orders/run", {})
    finally:
        _stop(procs)
    assert refused.value.code == 503
    assert answer["error"].startswith("the state database postgresql+psycopg://")
    assert "is unavailable: OperationalError: " in answer["error"]
    assert "not currently accepting connections" in answer["error"]
    assert health["status"] == "unhealthy"
    records = next(c for c in health["checks"] if c["name"] == "records")
    assert records["status"] == "unhealthy" and "is unavailable" in records["detail"]
    assert ran["status"] == "success"
    files = sorted(p.name for p in (home.root / "exports").glob("orders_*.csv"))
    assert files == [f"orders_{ran['export_id']}.csv"]  # nothing was delivered while it was away
    assert [r["export_id"] for r in _runs(pg_state_url)] == [ran["export_id"]]


def test_instances_continue_one_incremental_feed_from_the_shared_watermark(
        tmp_path: Path) -> None:
    """Instance A delivers the feed, B goes on from A's watermark: each row once."""
    import sqlite3

    from pstt_core import Pstt

    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"e{i}") for i in range(1, 51)])
    url = f"sqlite:///{tmp_path / 'state.db'}"
    facades = []
    for name in ("a", "b"):
        home = HomeBuilder(tmp_path / name)
        home.connections["databases"][0]["url"] = f"sqlite:///{source}"
        home.write()
        facades.append(Pstt(home.root, environ={"PSTT_STATE_URL": url}, logs=False))
    a, b = facades
    try:
        sql_schema.upgrade(a.backend.engine)  # type: ignore[union-attr]
        a.create_schedule({"id": "feed", "name": "feed", "connection": "demo",
                           "query": "SELECT id, v FROM events", "incremental": {"column": "id"},
                           "trigger": {"type": "interval", "seconds": 3600},
                           "sharing_mode": "filesystem",
                           "sink_options": {"format": "jsonl", "filename": "f_{export_id}.jsonl"}})
        first = a.run("feed")
        with sqlite3.connect(source) as conn:
            conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"e{i}") for i in (51, 52)])
        mark = b.watermarks.get("feed")
        second = b.run("feed")
        third = a.run("feed")
    finally:
        for p in facades:
            p.close()
    assert (first.status, first.rows) == ("success", 50)
    assert mark is not None and mark.mark.value == 50 and mark.export_id == first.export_id
    assert (second.status, second.rows, second.instance) == ("success", 2, b.instance)
    assert (third.status, third.rows) == ("success", 0)
    delivered = [json.loads(line)["id"] for root in (tmp_path / "a", tmp_path / "b")
                 for f in sorted((root / "exports").glob("f_*.jsonl"))
                 for line in f.read_text().splitlines()]
    assert sorted(delivered) == list(range(1, 53))  # each row once, across both instances


def test_claims_older_than_two_days_are_pruned(tmp_path: Path) -> None:
    from datetime import timezone

    from pstt_core.claims import KEEP_SEC

    backend = _backend(f"sqlite:///{tmp_path / 'state.db'}", "a")
    try:
        at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert backend.claims.claim("s", at)
        assert backend.claims.claim("s", at.replace(minute=1))
        assert backend.claims.prune(now=time.time()) == 0
        assert backend.claims.prune(now=time.time() + KEEP_SEC + 1) == 2
        assert backend.claims.holder("s", at) is None
    finally:
        backend.close()
