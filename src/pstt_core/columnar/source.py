"""Arrow record batches from the database through ADBC, opened like the SQLAlchemy path.

The connection comes from the same ``connections.json`` entry (URL, ``${VAR}``, discrete
fields, ``connect_args``) as the engine: :func:`adbc_target` returns ``None`` — the run takes
the row path — whenever ADBC could not reproduce it exactly. The reader opens the database
read-only (SQLite ``mode=ro`` on an existing file, never creating one; PostgreSQL
``default_transaction_read_only``), applies the run's bound as ``statement_timeout``
(PostgreSQL) and is cancellable by the run's control.

Batches are read in a thread of their own, one batch ahead of the sink (the drivers release
the GIL while they read, so reading overlaps writing). The pipeline waits for a batch and
the run's stop together: a stop ends the run at once even while the driver is blocked.
PostgreSQL's statement is then cancelled; SQLite's ADBC driver has no cancel, so a SQLite
statement already running finishes its current batch in that thread, whose result is
dropped (or, during the storage-class check below, that pass over the result).

SQLite is dynamically typed and its driver types each column from the first batch, refusing
or converting later values of another storage class (:data:`SQLITE_CLASSES`). The reader
therefore runs in one read transaction and checks the whole result's storage classes
(:func:`storage_check`) before the first batch or after the last, as the pipeline asks: a
result with a mixed column never reaches a sink as Arrow batches that differ from the row
path's values.
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

import attrs

from ..control import RunControl
from ..errors import PsttError
from ..models import Database, cap_error
from ..parameters import as_written
from . import installed

if TYPE_CHECKING:  # a plain SQLite entry is read without SQLAlchemy (see sqlite_file_target)
    from sqlalchemy.engine import URL

# libpq connection parameters an SQLAlchemy URL or connect_args may carry that mean the same
# to ADBC's libpq (psycopg passes them to libpq too). Anything else: the row path.
LIBPQ_PARAMS = frozenset({
    "connect_timeout", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword",
    "application_name", "options", "target_session_attrs", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "gssencmode", "krbsrvname",
    "channel_binding", "service", "passfile", "requirepeer", "sslcompression", "hostaddr"})
# How many rows the SQLite driver puts in one batch (it infers column types from the first).
SQLITE_BATCH_OPTION = "adbc.sqlite.query.batch_rows"
# The SQLite storage class whose values each Arrow type the SQLite driver infers holds as they
# are. The driver types a column from the first batch (all NULL: int64) and then refuses a
# value of another class (a real or text after integers fails the read mid-stream) or converts
# it (a real in a string column becomes 7-digit text, text in a binary column bytes), so a
# result is read as Arrow only when every value of a column is of that class — except the
# integers of a double column (NUMERIC / DECIMAL affinity stores 12.0 as 12): a double holds
# every integer up to 2**53 exactly, and the writers render it as the same number.
SQLITE_CLASSES = {"int64": "integer", "double": "real", "string": "text", "binary": "blob"}
_EXACT_IN_DOUBLE = 2 ** 53
# Between checks of the run's control while waiting for a batch.
POLL_SEC = 0.05


@attrs.frozen
class AdbcTarget:
    """What to connect to: ``backend`` (``sqlite`` / ``postgresql``) and the driver's URI."""

    backend: str
    uri: str = attrs.field(repr=False)  # holds the password


def adbc_target(url: URL, db: Database) -> AdbcTarget | None:
    """The ADBC connection for the engine URL ``url`` of ``db``, or ``None`` (row path)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(url, db)
        return sqlite_file_target(path, db) if path is not None else None
    if not installed(backend) or not _plain_options(db):
        return None
    connect_args = db.options.get("connect_args") or {}
    if not isinstance(connect_args, Mapping):
        return None
    return _postgresql(url, connect_args)


def sqlite_file_target(path: Path, db: Database) -> AdbcTarget | None:
    """The ADBC connection of the SQLite file ``path`` of ``db`` (read-only, never created),
    or ``None`` (row path): ``create_if_missing`` and ``connect_args`` keep the row path, and
    so does a missing file, which the row path reports."""
    if not installed("sqlite") or not _plain_options(db) or db.create_if_missing \
            or db.options.get("connect_args") or not path.is_file():
        return None
    return AdbcTarget("sqlite", path.as_uri() + "?mode=ro")


def _plain_options(db: Database) -> bool:
    """Whether the entry's engine options are only the pool's, which cannot change what the
    query sees."""
    extra = {k for k in db.options if k != "connect_args"}
    return not extra - {"pool_size", "max_overflow", "pool_recycle", "pool_pre_ping",
                        "pool_timeout", "echo"}


def _sqlite_path(url: URL, db: Database) -> Path | None:
    # ``sqlite_existing_file`` made plain paths into ``file:`` URIs with mode=rw; a URI the
    # user wrote and :memory: keep the row path (they may create a file)
    if set(url.query) != {"mode", "uri"}:
        return None
    database = url.database or ""
    if not database.startswith("file:") or db.url and db.url.split("///", 1)[-1].startswith("file:"):
        return None
    return Path.from_uri(database) if hasattr(Path, "from_uri") else _path_of(database)


def _path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def _postgresql(url: URL, connect_args: Mapping[str, Any]) -> AdbcTarget | None:
    params: dict[str, str] = {}
    for key, value in {**url.query, **connect_args}.items():
        if key not in LIBPQ_PARAMS or not isinstance(value, (str, int, float)):
            return None
        params[key] = str(value)
    if url.host and "," in url.host:
        return None
    userinfo = ""
    if url.username:
        userinfo = quote(url.username, safe="")
        if url.password is not None:
            userinfo += ":" + quote(str(url.password), safe="")
        userinfo += "@"
    host = url.host or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{url.port}" if url.port else ""
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
    uri = f"postgresql://{userinfo}{host}{port}/{quote(url.database or '', safe='')}"
    return AdbcTarget("postgresql", uri + (f"?{query}" if query else ""))


def _with_run_options(uri: str, seconds: float | None) -> str:
    """The PostgreSQL URI with the reader's session settings: read-only, and the run's bound
    as ``statement_timeout`` (a backstop behind the watchdog's cancel)."""
    settings = "-c default_transaction_read_only=on"
    if seconds:
        settings += f" -c statement_timeout={math.ceil(seconds * 1000)}"
    base, _, query = uri.partition("?")
    pairs = [p for p in query.split("&") if p]
    for i, pair in enumerate(pairs):
        if pair.startswith("options="):
            pairs[i] = pair + quote(" " + settings, safe="")
            break
    else:
        pairs.append("options=" + quote(settings, safe=""))
    return base + "?" + "&".join(pairs)


class SourceFailed(Exception):
    """The columnar read failed before any batch reached the sink: the row path runs the
    query instead (and reports its error in the row path's words, if it fails too)."""


class MixedTypes(SourceFailed):
    """Some column of a SQLite result holds values of more than one storage class (or of
    another class than its first batch): the row path reads it, value by value."""

    def __init__(self, columns: list[str]):
        super().__init__(f"column(s) {', '.join(columns)} hold SQLite values of more than one "
                         "type, which the columnar reader would refuse or convert")
        self.columns = columns


class Unverified(SourceFailed):
    """The storage-class check itself failed (e.g. a query text it cannot wrap): the result
    is not known to be of one class per column, so the row path reads it."""

    def __init__(self, error: BaseException):
        super().__init__(f"the storage-class check could not run ({_one_line(error)})")


class SourceError(PsttError):
    """The database failed while the result was streamed (``SQL error: …``)."""

    def __init__(self, text: str):
        super().__init__(cap_error(f"SQL error: {text}") or "SQL error")


class SourceRefused(PsttError):
    """The result cannot be read as Arrow after all, found while it was streamed: the SQLite
    driver refused a value of another type than its column's first batch, or the check after
    the read (``check="after"``) found a column of mixed types. Nothing read this way may be
    published; a sink that publishes only when it closes can start over on the row path."""


# How the SQLite driver words a refused value (statement_reader.c).
_REFUSED = "Type mismatch in column"


def storage_check(sql: str, schema: Any) -> str | None:
    """A query over the result of ``sql`` that returns a row — one flag per column — when
    some value is not of the storage class its column's Arrow type in ``schema`` holds
    (:data:`SQLITE_CLASSES`); no row when every value is. The columns are renamed by position
    (repeated or odd names), and the check stops at the first such row."""
    names = [f"c{i}" for i in range(len(schema))]
    tests = []
    for name, field in zip(names, schema, strict=True):
        kind = SQLITE_CLASSES.get(str(field.type))
        test = f"typeof({name}) NOT IN ('{kind}', 'null')" if kind else "1"
        if kind == "real":
            test = (f"({test} AND NOT (typeof({name}) = 'integer' AND {name} BETWEEN "
                    f"-{_EXACT_IN_DOUBLE} AND {_EXACT_IN_DOUBLE}))")
        tests.append(test)
    if not tests:
        return None
    body = sql.rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    # the newline ends a trailing ``--`` comment of the query
    return (f"WITH pstt_result({', '.join(names)}) AS ({body}\n) SELECT {', '.join(tests)} "
            f"FROM pstt_result WHERE {' OR '.join(tests)} LIMIT 1")


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).strip().splitlines()) or type(exc).__name__


class ArrowSource:
    """One query's result as a stream of Arrow record batches.

    The connection is opened, the statement executed and every batch read in the reader
    thread; :meth:`start` waits for the result's schema and :meth:`batches` for each batch,
    both together with the run's stop.

    :param params: the values of the ``?`` / ``$n`` placeholders of ``sql``, in order.
    """

    def __init__(self, target: AdbcTarget, control: RunControl, seconds: float | None):
        self.target = target
        self.control = control
        self.seconds = seconds
        self.schema: Any = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._done = threading.Event()
        self._db: Any = None
        self._conn: Any = None
        self._cursor: Any = None  # the ADBC statement
        self._reader: Any = None
        self._thread: threading.Thread | None = None

    def start(self, sql: str, params: list[Any], batch_rows: int,
              check: str = "before") -> bool:
        """Execute; ``True`` once the schema is known, ``False`` if the run was stopped
        first. Raises :class:`SourceFailed` for a failed connection or statement.

        :param check: when a SQLite result's storage classes are checked (one more pass over
            it, in the read's transaction): ``"before"`` the first batch (a mixed result
            raises :class:`MixedTypes` here, for sinks that publish as they write) or
            ``"after"`` the last (:meth:`batches` then raises :class:`SourceRefused`, for
            sinks that publish only when they close: the first batch is not delayed).
        """
        self._thread = threading.Thread(target=self._run, args=(sql, params, batch_rows, check),
                                        name="pstt-arrow-reader", daemon=True)
        with self.control.cancelling(self.cancel):
            self._thread.start()
            item = self._next()
        if item is _STOPPED:
            return False
        if isinstance(item, SourceFailed):
            raise item
        if isinstance(item, BaseException):
            raise SourceFailed(f"{type(item).__name__}: {item}") from item
        self.schema = item
        return True

    def _connect(self) -> None:
        # The drivers' low-level API: their DB-API layer imports pyarrow.dataset (and pandas,
        # when installed), a second of start-up a run does not need.
        import adbc_driver_manager as adbc

        if self.target.backend == "sqlite":
            import adbc_driver_sqlite as driver
            self._db = driver.connect(self.target.uri)
        else:
            import adbc_driver_postgresql as driver  # type: ignore[no-redef]
            self._db = driver.connect(_with_run_options(self.target.uri, self.seconds))
        self._conn = adbc.AdbcConnection(self._db)
        if self.target.backend == "sqlite":
            # one read transaction: the storage-class check and the read see the same rows
            self._conn.set_autocommit(False)
        self._cursor = adbc.AdbcStatement(self._conn)

    def _run(self, sql: str, params: list[Any], batch_rows: int, check: str) -> None:
        import pyarrow as pa

        try:
            self._connect()
            statement = self._cursor
            statement.set_sql_query(sql)
            if self.target.backend == "sqlite":
                statement.set_options(**{SQLITE_BATCH_OPTION: str(batch_rows)})
            if params:
                statement.bind(pa.record_batch([pa.array([v]) for v in params],
                                               names=[str(i) for i in range(len(params))]))
            stream, _ = statement.execute_query()
            self._reader = pa.RecordBatchReader.from_stream(stream)
            schema = self._reader.schema
            sqlite = self.target.backend == "sqlite"
            if sqlite and check == "before":
                self._check_storage(self._conn, sql, params, schema)
            beside = self._check_beside(sql, params, schema) if sqlite and check == "after" \
                else None
            self._put(schema)
            for batch in self._reader:
                if self._done.is_set():
                    break
                self._put(batch)
            else:
                if beside is not None:
                    beside.join()
                if sqlite and check == "after" and (beside is None or beside.failed):
                    self._check_storage(self._conn, sql, params, schema)
                if beside is not None and beside.mixed is not None:
                    raise beside.mixed
                self._put(None)
        except BaseException as exc:  # handed to the pipeline thread
            self._put(exc)
        finally:
            if self._done.is_set():
                self._release()

    def _check_beside(self, sql: str, params: list[Any], schema: Any) -> _Beside | None:
        """The check on a connection of its own, in a thread, while the read goes on — when
        that connection is sure to see the same rows: outside WAL mode the read's
        transaction holds SQLite's shared lock, so no write can commit until it ends.
        ``None``: check on the read's connection after the read."""
        import adbc_driver_manager as adbc
        import pyarrow as pa

        statement = adbc.AdbcStatement(self._conn)
        try:
            statement.set_sql_query("PRAGMA journal_mode")
            stream, _ = statement.execute_query()
            mode = pa.RecordBatchReader.from_stream(stream).read_all().column(0)[0].as_py()
        finally:
            statement.close()
        if str(mode).lower() == "wal":
            return None
        beside = _Beside(self, sql, params, schema)
        beside.start()
        return beside

    def _check_storage(self, conn: Any, sql: str, params: list[Any], schema: Any) -> None:
        """Raise :class:`MixedTypes` when the driver would refuse or convert a value of the
        result (one more pass over it, in the read's transaction)."""
        import adbc_driver_manager as adbc
        import pyarrow as pa

        check = storage_check(sql, schema)
        if check is None:
            return
        statement = adbc.AdbcStatement(conn)
        try:
            statement.set_sql_query(check)
            if params:
                statement.bind(pa.record_batch([pa.array([v]) for v in params],
                                               names=[str(i) for i in range(len(params))]))
            stream, _ = statement.execute_query()
            flags = pa.RecordBatchReader.from_stream(stream).read_all()
        except Exception as exc:
            raise Unverified(exc) from exc
        finally:
            statement.close()
        if flags.num_rows:
            row = [flags.column(i)[0].as_py() for i in range(flags.num_columns)]
            raise MixedTypes([name for name, flag in zip(schema.names, row, strict=True) if flag])

    def cancel(self) -> None:
        """Stop the statement (PostgreSQL); SQLite's driver has none (see the module)."""
        if self.target.backend == "postgresql" and self._cursor is not None:
            self._cursor.cancel()

    def _put(self, item: Any) -> None:
        while not self._done.is_set():
            try:
                self._queue.put(item, timeout=POLL_SEC)
                return
            except queue.Full:
                continue

    def _next(self) -> Any:
        while True:
            try:
                return self._queue.get(timeout=POLL_SEC)
            except queue.Empty:
                if self.control.stopped:
                    return _STOPPED

    def batches(self) -> Iterator[Any]:
        """The batches in order; returns when the run is stopped (the caller checks why)."""
        with self.control.cancelling(self.cancel):
            while True:
                item = self._next()
                if item is None or item is _STOPPED:
                    return
                if isinstance(item, (MixedTypes, Unverified)):
                    raise SourceRefused(str(item)) from item
                if isinstance(item, Exception):
                    text = _one_line(item)
                    if _REFUSED in text:
                        raise SourceRefused(self._refused(text)) from item
                    raise SourceError(text) from item
                if isinstance(item, BaseException):
                    raise item
                if item.num_rows:
                    yield item
                if self.control.stopped:
                    return

    def _refused(self, text: str) -> str:
        found = re.search(_REFUSED + r" (\d+)", text)
        index = int(found.group(1)) if found else -1
        name = f" of column {self.schema.names[index]}" if 0 <= index < len(self.schema) else ""
        return f"the SQLite driver refused a value{name} ({text})"

    def close(self) -> None:
        """Release the statement and the connection (never raises). A reader thread still in
        the driver releases them itself when it comes back."""
        self._done.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=1.0)
            if thread.is_alive():
                return  # its ``finally`` releases them
        self._release()

    def _release(self) -> None:
        with _RELEASE_LOCK:
            handles = (self._reader, self._cursor, self._conn, self._db)
            self._reader = self._cursor = self._conn = self._db = None
        for handle in handles:
            if handle is not None:
                # a cancelled or broken statement: nothing left to do
                with contextlib.suppress(Exception):
                    handle.close()


class _Beside(threading.Thread):
    """The storage-class check of a SQLite read on a second connection (see
    :meth:`ArrowSource._check_beside`): ``mixed`` is the :class:`MixedTypes` it found,
    ``failed`` whether it could not tell (the read's connection checks then)."""

    def __init__(self, source: ArrowSource, sql: str, params: list[Any], schema: Any):
        super().__init__(name="pstt-arrow-check", daemon=True)
        self.source, self.sql, self.params, self.schema = source, sql, params, schema
        self.mixed: MixedTypes | None = None
        self.failed = False

    def run(self) -> None:
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite as driver

        handles: list[Any] = []
        try:
            handles.append(driver.connect(self.source.target.uri))
            handles.append(adbc.AdbcConnection(handles[0]))
            handles[1].set_autocommit(False)
            self.source._check_storage(handles[1], self.sql, self.params, self.schema)
        except MixedTypes as exc:
            self.mixed = exc
        except Exception:  # busy, or anything else: the read's connection checks again
            self.failed = True
        finally:
            for handle in reversed(handles):
                with contextlib.suppress(Exception):
                    handle.close()


_STOPPED = object()
_RELEASE_LOCK = threading.Lock()


def positional(sql: str, values: Mapping[str, Any], backend: str) -> tuple[str, list[Any]] | None:
    """The query ``sql`` (``:name`` parameters, as SQLAlchemy's ``text()`` reads them) in the
    driver's placeholders (``?`` SQLite, ``$1`` PostgreSQL) and its values in order; ``None``
    (the row path) for a NULL value, whose type the drivers would have to guess. SQLite gets
    datetimes as the text Python's sqlite3 module binds."""
    from datetime import date, datetime

    if not values and as_written(sql):
        return sql, []
    import sqlalchemy as sa

    stmt = sa.text(sql)
    if backend == "sqlite":
        from sqlalchemy.dialects.sqlite.base import SQLiteDialect
        compiled = stmt.compile(dialect=SQLiteDialect(paramstyle="qmark"))
    else:
        from sqlalchemy.dialects.postgresql.base import PGDialect
        compiled = stmt.compile(dialect=PGDialect(paramstyle="numeric_dollar"))
    ordered = [values[name] for name in compiled.positiontup or ()]
    if any(v is None for v in ordered):
        return None
    if backend == "sqlite":
        ordered = [v.isoformat(" ") if isinstance(v, datetime) else
                   v.isoformat() if isinstance(v, date) else v for v in ordered]
    return compiled.string, ordered
