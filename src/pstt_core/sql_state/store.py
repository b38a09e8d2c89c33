"""The SQL state backend: run history, counters, plugin documents and fire claims in one
database shared by every instance (``PSTT_STATE_URL``; PostgreSQL, or SQLite on one host).

Every change is one short transaction, so N writers lose nothing: a record is one row
(upserted by ``export_id``), the counters are computed from the rows (they always equal the
history), a plugin document is read and written back under a row lock (``SELECT … FOR
UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``), and a fire claim is an
``INSERT`` that a primary key lets succeed once.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..claims import KEEP_SEC, PruneClock, fire_key
from ..errors import ConfigError, StateFileError, StateUnavailableError
from ..history import parse_time
from ..models import RunRecord, iso, utcnow
from ..plugin.state import check_document
from . import schema
from .documents import SharedDocument, Transactions, insert_missing
from .leases import SqlLeases
from .presence import SqlPresence
from .tables import claims, documents, runs

_COUNTED = ("success", "failed", "partial", "skipped", "interrupted")


def make_engine(url: str) -> sa.Engine:
    """An engine for the state database; SQLite writers queue instead of failing. An error
    of the connection (the server down, the database refusing connections) is raised as
    :class:`StateUnavailableError`, which the API answers 503 and the CLI reports in a line."""
    engine = _engine(url)
    where = safe_url(url)

    @sa.event.listens_for(engine, "handle_error")
    def _unavailable(context: sa.engine.ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if context.is_pre_ping:  # the pool replaces a dead pooled connection by itself
            return None
        if context.is_disconnect or isinstance(context.sqlalchemy_exception,
                                               sa.exc.OperationalError):
            first = str(original).strip().splitlines()[0] if str(original).strip() else ""
            return StateUnavailableError(f"the state database {where} is unavailable: "
                                         f"{type(original).__name__}: {first}"[:500])
        return None

    return engine


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and pages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: say nothing of it
        return "(invalid URL)"


def _ts(text: str | None) -> float | None:
    parsed = parse_time(text)
    return parsed.timestamp() if parsed else None


def _row(record: RunRecord) -> dict[str, Any]:
    """The ``pstt_runs`` row of ``record``."""
    return {"export_id": record.export_id, "schedule_id": record.schedule_id,
            "sharing_mode": record.sharing_mode, "status": record.status,
            "started_at": record.started_at, "started_ts": _ts(record.started_at),
            "scheduled_at": record.scheduled_at, "instance": record.instance,
            "rows": record.rows or 0,
            "duration_sec": record.duration_sec if isinstance(record.duration_sec, (int, float))
            else None,
            "record": json.dumps(record.to_dict(), ensure_ascii=False, default=str)}


class SqlHistory:
    def __init__(self, engine: sa.Engine, where: str):
        self.engine = engine
        self.location = f"table pstt_runs of {where}"

    def check(self) -> None:
        """The table answers (a row at most: this runs before every run)."""
        with self.engine.connect() as conn:
            conn.execute(sa.select(runs.c.seq).limit(1)).first()

    def put(self, record: RunRecord) -> bool:
        row = _row(record)
        try:
            with self.engine.begin() as conn:
                conn.execute(runs.insert().values(**row))
            return True
        except IntegrityError:  # the record of a run already in the history: replace it
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.export_id == record.export_id)
                             .values(**row))
            return False

    def add_missing(self, records: list[dict[str, Any]], batch: int = 1000) -> int:
        """Insert the records (oldest first) whose ``export_id`` is not stored yet, in
        batches; returns how many were added (``pstt state migrate``)."""
        with self.engine.connect() as conn:
            known = set(conn.execute(sa.select(runs.c.export_id)).scalars())
        new = [r for r in records if str(r.get("export_id")) not in known]
        for start in range(0, len(new), batch):
            with self.engine.begin() as conn:
                conn.execute(runs.insert(), [_row(RunRecord.from_dict(r))
                                             for r in new[start:start + batch]])
        return len(new)

    def get(self, export_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(runs.c.record)
                                .where(runs.c.export_id == export_id)).scalar()
        return json.loads(text) if text is not None else None

    def query(self, *, schedule_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              sharing_mode: str | None = None, sharing_modes: Collection[str] | None = None,
              limit: int | None = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        where = []
        if schedule_id:
            where.append(runs.c.schedule_id == schedule_id)
        if status:
            where.append(runs.c.status == status)
        if sharing_mode:
            where.append(runs.c.sharing_mode == sharing_mode)
        if sharing_modes is not None:
            where.append(runs.c.sharing_mode.in_(list(sharing_modes)))
        if since:
            where.append(runs.c.started_ts >= since.timestamp())
        if until:
            where.append(runs.c.started_ts <= until.timestamp())
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(runs)
                                 .where(*where)).scalar_one()
            stmt = sa.select(runs.c.record).where(*where).order_by(runs.c.seq.desc()) \
                .offset(offset)
            if limit is not None:
                stmt = stmt.limit(limit)
            rows = [json.loads(text) for text in conn.execute(stmt).scalars()]
        return int(total), rows

    def last(self, schedule_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        newest = sa.select(sa.func.max(runs.c.seq)).group_by(runs.c.schedule_id)
        if schedule_ids is not None:
            newest = newest.where(runs.c.schedule_id.in_(list(schedule_ids)))
        with self.engine.connect() as conn:
            texts = conn.execute(sa.select(runs.c.record)
                                 .where(runs.c.seq.in_(newest.scalar_subquery()))).scalars()
            out = [json.loads(text) for text in texts]
        return {str(rec.get("schedule_id", "")): rec for rec in out}


class SqlCounters:
    """Counters computed from the run rows: they always equal what the history says."""

    def __init__(self, engine: sa.Engine, where: str):
        self.engine = engine
        self.location = f"table pstt_runs of {where}"

    def record(self, rec: RunRecord) -> None:
        """Nothing to do: the record's row is counted."""

    def data(self) -> dict[str, Any]:
        stmt = sa.select(runs.c.schedule_id, runs.c.status, sa.func.count(),
                         sa.func.sum(runs.c.rows), sa.func.sum(runs.c.duration_sec),
                         sa.func.max(runs.c.duration_sec)).group_by(runs.c.schedule_id,
                                                                    runs.c.status)
        per: dict[str, dict[str, Any]] = {}
        total = _empty()
        with self.engine.connect() as conn:
            for sid, status, count, rows, duration, longest in conn.execute(stmt):
                bucket = per.setdefault(sid, _empty())
                for b in (bucket, total):
                    b["runs"] += count
                    b[status] = b.get(status, 0) + count
                    b["rows"] += int(rows or 0)
                    b["total_duration_sec"] = round(b["total_duration_sec"] + (duration or 0), 3)
                    b["max_duration_sec"] = max(b["max_duration_sec"], longest or 0.0)
            last = sa.select(sa.func.max(runs.c.seq)).group_by(runs.c.schedule_id)
            for sid, status, started, duration in conn.execute(
                    sa.select(runs.c.schedule_id, runs.c.status, runs.c.started_at,
                              runs.c.duration_sec).where(runs.c.seq.in_(last.scalar_subquery()))):
                per[sid].update(last_status=status, last_run_at=started,
                                last_duration_sec=duration)
            for sid, started in conn.execute(
                    sa.select(runs.c.schedule_id, sa.func.max(runs.c.started_at))
                    .where(runs.c.status == "success").group_by(runs.c.schedule_id)):
                per[sid]["last_success_at"] = started
        return {"total": total, "schedules": per}

    def last_success(self, schedule_id: str) -> datetime | None:
        with self.engine.connect() as conn:
            started = conn.execute(
                sa.select(runs.c.started_at).where(runs.c.schedule_id == schedule_id,
                                                   runs.c.status == "success")
                .order_by(runs.c.started_ts.desc()).limit(1)).scalar()
        return parse_time(started)


def _empty() -> dict[str, Any]:
    return {"runs": 0, **dict.fromkeys(_COUNTED, 0), "rows": 0, "total_duration_sec": 0.0,
            "max_duration_sec": 0.0}


class SqlDocuments:
    """Plugin documents, one row each; ``modify`` holds the row's lock while it changes it."""

    def __init__(self, engine: sa.Engine, where: str,
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None):
        self.engine = engine
        self.where = where
        self.validators = dict(validators or {})

    def location(self, plugin: str) -> str:
        return f"document {plugin!r} in table pstt_documents of {self.where}"

    def _decode(self, plugin: str, text: str | None) -> dict[str, Any]:
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StateFileError(f"invalid JSON: {exc}", file=self.location(plugin)) from None
        check_document(data, self.location(plugin), self.validators.get(plugin))
        return data

    def read(self, plugin: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(documents.c.document)
                                .where(documents.c.plugin == plugin)).scalar()
        return self._decode(plugin, text)

    def modify(self, plugin: str,
               change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        with self.engine.begin() as conn:
            insert_missing(conn, plugin, {})
            text = conn.execute(sa.select(documents.c.document)
                                .where(documents.c.plugin == plugin).with_for_update()).scalar()
            new = change(self._decode(plugin, text or "{}"))
            if not isinstance(new, dict):
                raise ConfigError(f"the state of plugin {plugin!r} must be a JSON object, "
                                  f"not {type(new).__name__}", file=self.location(plugin))
            self._write(conn, plugin, new)
        return copy.deepcopy(new)

    def replace(self, plugin: str, document: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            insert_missing(conn, plugin, {})
            self._write(conn, plugin, document)

    @staticmethod
    def _write(conn: sa.Connection, plugin: str, document: dict[str, Any]) -> None:
        conn.execute(documents.update().where(documents.c.plugin == plugin).values(
            document=json.dumps(document, ensure_ascii=False, default=str), updated_at=iso(utcnow())))


class SqlClaims:
    """Claims are rows kept :data:`~pstt_core.claims.KEEP_SEC`, like the files backend's."""

    def __init__(self, engine: sa.Engine, instance: Callable[[], str]):
        self.engine = engine
        self.instance = instance
        self.prune_clock = PruneClock()

    def claim(self, schedule_id: str, scheduled_at: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(claims.insert().values(
                    schedule_id=schedule_id, scheduled_at=fire_key(scheduled_at),
                    instance=self.instance(), claimed_ts=time.time()))
            return True
        except IntegrityError:
            return False
        finally:
            if self.prune_clock.due():
                self.prune()

    def prune(self, now: float | None = None) -> int:
        """Remove the claims made more than ``KEEP_SEC`` ago; returns how many."""
        limit = (time.time() if now is None else now) - KEEP_SEC
        with self.engine.begin() as conn:
            return int(conn.execute(claims.delete().where(claims.c.claimed_ts < limit)).rowcount)

    def holder(self, schedule_id: str, scheduled_at: datetime) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(claims.c.instance).where(
                claims.c.schedule_id == schedule_id,
                claims.c.scheduled_at == fire_key(scheduled_at))).scalar()
        return str(found) if found is not None else None


class SqlBackend:
    """The state in the database at ``url`` (see the module docstring)."""

    name = "sql"

    def __init__(self, url: str, *, instance: Callable[[], str],
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None,
                 lease_ttl: float = 30.0):
        self.url = url
        self.where = safe_url(url)
        self.engine = make_engine(url)
        self.history = SqlHistory(self.engine, self.where)
        self.counters = SqlCounters(self.engine, self.where)
        self.documents = SqlDocuments(self.engine, self.where, validators)
        self.claims = SqlClaims(self.engine, instance)
        self.leases = SqlLeases(self.engine, instance, lease_ttl, self.history.put)
        self.presence = SqlPresence(self.engine)
        self.transactions = Transactions(self.engine)

    def document(self, name: str, default: Any, *,
                 validate: Callable[[Any, str], None] | None = None) -> SharedDocument:
        """The core document ``name`` in ``pstt_documents`` (see :mod:`.documents`)."""
        return SharedDocument(self.transactions, name, default, self.where, validate=validate)

    def describe(self) -> str:
        return self.where

    def problem(self) -> str | None:
        """Why this database cannot be used now (schema missing or of another version)."""
        return schema.problem(self.engine, self.where)

    def close(self) -> None:
        self.leases.close()
        self.engine.dispose()
