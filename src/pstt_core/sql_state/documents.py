"""The core's JSON documents (schedules, watermarks) in the state database, so every instance
sharing it sees one set of schedules and one watermark per schedule.

Each document is a row of ``pstt_documents`` under a ``pstt:`` key (a plugin's name has no
``:``), with JsonFile's interface (:class:`pstt_core.state.JsonDocument`). ``version`` grows
with every save: the scheduler of each instance polls it (``stamp``) and re-syncs when it
moves, which is how a schedule created through one instance reaches the others.

A read-modify-write holds the row's lock (``SELECT … FOR UPDATE``; SQLite: the
``BEGIN IMMEDIATE`` of the backend's engine) in one transaction per thread: a document
locked while another is held (an update that resets the schedule's watermark) joins that
transaction rather than waiting for itself.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..errors import StateFileError
from ..models import iso, utcnow
from .tables import documents

KEY_PREFIX = "pstt:"


class Transactions:
    """One transaction per thread on ``engine``, shared by every document locked in it."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._local = threading.local()

    @property
    def current(self) -> sa.Connection | None:
        """The connection of this thread's open transaction, if any."""
        return getattr(self._local, "conn", None)

    def enter(self) -> sa.Connection:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            conn = self.engine.connect()
            try:
                conn.begin()
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        self._local.depth = depth + 1
        return self._local.conn

    def leave(self, failed: bool) -> None:
        self._local.depth -= 1
        if self._local.depth:
            return
        conn, self._local.conn = self._local.conn, None
        try:
            if failed:
                conn.rollback()
            else:
                conn.commit()
        finally:
            conn.close()


class _RowLock:
    """The lock of one document: its row, locked in this thread's transaction."""

    def __init__(self, document: SharedDocument):
        self.document = document

    def __enter__(self) -> _RowLock:
        doc = self.document
        conn = doc.transactions.enter()
        try:
            insert_missing(conn, doc.key, doc.default)
            conn.execute(sa.select(documents.c.version).where(documents.c.plugin == doc.key)
                         .with_for_update())
        except BaseException:
            doc.transactions.leave(failed=True)
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.document.transactions.leave(failed=exc_type is not None)


def insert_missing(conn: sa.Connection, key: str, default: Any) -> None:
    """Create the document's row (its default, version 0) unless it exists, in ``conn``'s
    transaction (a savepoint keeps a duplicate from aborting it)."""
    exists = conn.execute(sa.select(documents.c.version)
                          .where(documents.c.plugin == key)).first()
    if exists is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(documents.insert().values(plugin=key, document=json.dumps(default),
                                                   updated_at=iso(utcnow()), version=0))
    except IntegrityError:
        pass  # another instance created it meanwhile


class SharedDocument:
    """A core document in the state database (see the module docstring).

    :param name: ``schedules`` or ``watermarks``; stored under ``pstt:<name>``.
    :param validate: raises :class:`StateFileError` for a document the store cannot read.
    """

    def __init__(self, transactions: Transactions, name: str, default: Any, where: str, *,
                 validate: Callable[[Any, str], None] | None = None):
        self.transactions = transactions
        self.key = KEY_PREFIX + name
        self.default = default
        self.validate = validate
        self.location = f"document {self.key!r} in table pstt_documents of {where}"
        self.lock = _RowLock(self)
        self._cache_lock = threading.Lock()
        self._cache: tuple[int, Any] | None = None

    def _read(self, stmt: Any) -> Any:
        conn = self.transactions.current
        if conn is not None:
            return conn.execute(stmt).first()
        with self.transactions.engine.connect() as own:
            return own.execute(stmt).first()

    def stamp(self) -> int | None:
        row = self._read(sa.select(documents.c.version).where(documents.c.plugin == self.key))
        return int(row.version) if row is not None else None

    def load(self) -> Any:
        row = self._read(sa.select(documents.c.version, documents.c.document)
                         .where(documents.c.plugin == self.key))
        if row is None:
            return copy.deepcopy(self.default)
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == row.version:
                return self._cache[1]
            try:
                data = json.loads(row.document)
            except ValueError as exc:
                raise StateFileError(f"invalid JSON: {exc}", file=self.location) from None
            if self.validate is not None:
                self.validate(data, self.location)
            self._cache = (int(row.version), data)
            return data

    def save(self, data: Any) -> None:
        text = json.dumps(data, ensure_ascii=False, default=str)
        with self.lock:
            conn = self.transactions.current
            assert conn is not None  # the lock opened it
            conn.execute(documents.update().where(documents.c.plugin == self.key).values(
                document=text, updated_at=iso(utcnow()), version=documents.c.version + 1))
