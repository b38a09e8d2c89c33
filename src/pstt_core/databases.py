"""SQLAlchemy engines for the configured databases (one per connection, created lazily).

SQLAlchemy is imported when an engine or a URL is needed, not with this module: a run the
columnar path serves from a plain SQLite file never needs it (its import is about a third of
a short ``pstt run``).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .columnar.source import AdbcTarget, adbc_target, sqlite_file_target
from .errors import ConfigError
from .models import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

# Short driver names accepted in the discrete-fields form.
DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mssql": "mssql+pyodbc",
    "sqlserver": "mssql+pyodbc",
    "oracle": "oracle+oracledb",
}
# Bare dialect names get the driver that is installed with PSTT's extras.
_DEFAULT_DBAPI = {"postgresql": ("psycopg2", "postgresql+psycopg", "psycopg"),
                  "mysql": ("MySQLdb", "mysql+pymysql", "pymysql"),
                  "mariadb": ("MySQLdb", "mariadb+pymysql", "pymysql"),
                  "oracle": ("cx_Oracle", "oracle+oracledb", "oracledb")}

# How to install the driver modules SQLAlchemy's dialects import.
_INSTALL_HINTS = {"psycopg": 'pip install "pstt[postgres]"', "psycopg2": 'pip install "pstt[postgres]"',
                  "pymysql": 'pip install "pstt[mysql]"', "MySQLdb": 'pip install "pstt[mysql]"',
                  "pyodbc": "pip install pyodbc", "oracledb": "pip install oracledb"}


def build_url(db: Database, home: Path) -> URL:
    from sqlalchemy.engine import URL, make_url

    if db.url:
        try:
            url = make_url(db.url)
        except Exception:
            raise ConfigError(f"database {db.name!r}: cannot parse url", path=f"databases[{db.name}].url") from None
    else:
        driver = DRIVERS.get((db.driver or "").lower(), db.driver or "")
        url = URL.create(driver, username=db.username, password=db.password, host=db.host,
                         port=db.port, database=db.database)
    if url.drivername in _DEFAULT_DBAPI:
        legacy, preferred, module = _DEFAULT_DBAPI[url.drivername]
        if importlib.util.find_spec(legacy) is None and importlib.util.find_spec(module):
            url = url.set(drivername=preferred)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        path = Path(url.database)
        if not path.is_absolute():
            url = url.set(database=str((home / path).resolve()))
    return url


# Characters SQLAlchemy's URL parser gives a meaning to in a SQLite path (query, escapes).
_NOT_PLAIN = frozenset("?#%@")


def plain_sqlite_file(db: Database, home: Path) -> Path | None:
    """The file of a SQLite entry written the plain way — ``"url": "sqlite:///PATH"`` or
    ``"driver": "sqlite"`` with a ``database`` path, relative to the home — read without
    SQLAlchemy; ``None`` for anything else (:func:`build_url` parses it)."""
    if db.url:
        if not db.url.startswith("sqlite:///"):
            return None
        raw = db.url[len("sqlite:///"):]
    elif (db.driver or "").lower() == "sqlite" and not (db.username or db.password or db.host
                                                         or db.port):
        raw = db.database or ""
    else:
        return None
    if not raw or raw == ":memory:" or raw.startswith("file:") or _NOT_PLAIN & set(raw):
        return None
    path = Path(raw)
    return path if path.is_absolute() else (home / path).resolve()


def sqlite_existing_file(url: URL, db: Database) -> URL:
    """The URL of a SQLite file opened without creating it (SQLite URI ``mode=rw``), so a
    typo in the path is an error instead of a new empty database; unchanged for other
    databases, ``:memory:``, URLs that already are SQLite URIs, and entries that set
    ``create_if_missing``. Raises ``ConfigError`` when the file does not exist."""
    database = url.database or ""
    if (url.get_backend_name() != "sqlite" or db.create_if_missing or not database
            or database == ":memory:" or database.startswith("file:") or "uri" in url.query):
        return url
    path = Path(database)
    if not path.is_file():
        raise ConfigError(f"database {db.name!r}: SQLite file {database} does not exist (check "
                          "the path in its url, or set \"create_if_missing\": true to create an "
                          "empty database)", path=f"databases[{db.name}].url")
    return url.set(database=path.as_uri(), query={**url.query, "mode": "rw", "uri": "true"})


def safe_url(db: Database, home: Path) -> str:
    """The URL with its password hidden, for pages, API and logs."""
    try:
        return build_url(db, home).render_as_string(hide_password=True)
    except ConfigError:
        return "(invalid url)"


class Databases:
    """One engine per configured database, created on first use.

    :param unresolved: database name → ``${VAR}``s its entry uses that are not set (a config
        loaded leniently): such a database is never connected to.
    """

    def __init__(self, databases: dict[str, Database], home: Path,
                 unresolved: dict[str, list[str]] | None = None):
        self._dbs = databases
        self._home = home
        self._unresolved = {k: v for k, v in (unresolved or {}).items() if v}
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def entry(self, name: str) -> Database:
        """The configured entry ``name``; ``ConfigError`` when it is unknown or uses a
        ``${VAR}`` that is not set."""
        if name in self._unresolved:
            raise ConfigError(f"database {name!r} cannot be used: environment variable(s) "
                              + ", ".join(f"${{{v}}}" for v in self._unresolved[name])
                              + " not set", path=f"databases[{name}]")
        if name not in self._dbs:
            known = ", ".join(sorted(self._dbs)) or "none"
            raise ConfigError(f"unknown database connection {name!r}; configured: {known}")
        return self._dbs[name]

    def engine(self, name: str) -> Engine:
        import sqlalchemy as sa

        with self._lock:
            db = self.entry(name)
            if name in self._engines:
                # the file may have gone since: say so rather than let SQLite create it
                sqlite_existing_file(build_url(db, self._home), db)
            else:
                url = sqlite_existing_file(build_url(db, self._home), db)
                kwargs: dict[str, Any] = {"pool_pre_ping": True}
                if url.get_backend_name() != "sqlite":
                    kwargs.update(pool_size=2, max_overflow=4, pool_recycle=1800)
                try:
                    engine = sa.create_engine(url, **kwargs, **db.options)
                    on_connect = read_only_session(engine.dialect.name) if db.read_only else None
                    if on_connect is not None:
                        sa.event.listen(engine, "connect", on_connect)
                    self._engines[name] = engine
                except ModuleNotFoundError as exc:
                    hint = _INSTALL_HINTS.get(exc.name or "", f"pip install {exc.name}")
                    raise ConfigError(f"database {name!r}: driver module {exc.name!r} is not "
                                      f"installed (install it with: {hint})") from None
                except sa.exc.NoSuchModuleError:
                    raise ConfigError(f"database {name!r}: unknown database dialect "
                                      f"{url.drivername!r} in the url (e.g. postgresql+psycopg, "
                                      "mysql+pymysql, sqlite)") from None
            return self._engines[name]

    def adbc_target(self, name: str) -> AdbcTarget | None:
        """The ADBC connection of an entry :meth:`engine` accepted (the columnar path), or
        ``None`` when ADBC cannot reproduce its configuration or is not installed."""
        db = self.entry(name)
        path = plain_sqlite_file(db, self._home)
        if path is not None:
            return sqlite_file_target(path, db)
        return adbc_target(sqlite_existing_file(build_url(db, self._home), db), db)

    def test(self, name: str) -> dict[str, Any]:
        """Open a connection and run ``SELECT 1``; never raises."""
        import sqlalchemy as sa

        t0 = time.perf_counter()
        try:
            with self.engine(name).connect() as conn:
                conn.execute(sa.text("SELECT 1")).scalar()
            return {"name": name, "success": True,
                    "latency_ms": round((time.perf_counter() - t0) * 1000, 2), "error": None}
        except Exception as exc:
            return {"name": name, "success": False,
                    "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
                    "error": describe_db_error(exc)}

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


# What makes a new connection's session read-only, per dialect: a schedule's query can then
# never change the database, whatever its text (CREATE, DELETE, SQLite ``VACUUM INTO``).
READ_ONLY_STATEMENTS = {
    "sqlite": "PRAGMA query_only = ON",
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}


_SQLITE_ATTACH, _SQLITE_DETACH, _SQLITE_OK, _SQLITE_DENY = 24, 25, 0, 1


def _no_attach(action: int, *_args: Any) -> int:
    return _SQLITE_DENY if action in (_SQLITE_ATTACH, _SQLITE_DETACH) else _SQLITE_OK


def read_only_session(dialect: str) -> Callable[[Any, Any], None] | None:
    """The ``connect`` event that makes each new connection of a ``read_only`` database (the
    default) read-only; ``None`` for dialects without such a setting, where the rollback at
    the end of a run is the only guard."""
    statement = READ_ONLY_STATEMENTS.get(dialect)
    if statement is None:
        return None

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dialect == "sqlite":
            # query_only does not stop ATTACH (VACUUM INTO attaches its target first), which
            # creates a file anywhere the process may write
            dbapi_connection.set_authorizer(_no_attach)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()  # PostgreSQL: the SET ran in a transaction of its own

    return on_connect


def describe_db_error(exc: BaseException) -> str:
    """A one-line message without SQLAlchemy's statement dump and doc links."""
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {' '.join(line.strip() for line in lines)}"
    if isinstance(exc, sa.exc.SQLAlchemyError):
        text = str(exc).split("(Background on this error")[0].strip()
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {exc}"
