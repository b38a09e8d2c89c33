"""Fixtures of the core tests: an inline recording sink plugin, registered and removed per test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from pstt_core import Sink, SinkContext, SinkError, SinkResult, SinkType, hookimpl
from tests.conftest import HomeBuilder, registered, wait_for  # noqa: F401  (wait_for: used from here too)


@attrs.define
class RecorderOptions:
    label: str = attrs.field(default="", metadata={"help": "free text"})
    delay: float = 0.0  # seconds to sleep in every write (a slow sink)
    fail: bool = False  # raise SinkError in write
    count: int = 1


@attrs.define
class Received:
    export_id: str
    options: Any
    run: Any
    columns: list[str] = attrs.field(factory=list)
    batches: list[list[tuple[Any, ...]]] = attrs.field(factory=list)
    closed: bool = False
    aborted: BaseException | None = None

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        return [row for batch in self.batches for row in batch]


class RecordingSink(Sink):
    def __init__(self, ctx: SinkContext, recorder: Recorder):
        super().__init__(ctx)
        self.got = Received(ctx.run.export_id, ctx.options, ctx.run)
        recorder.add(self.got)
        recorder.started.set()

    def open(self, columns: Sequence[str]) -> None:
        super().open(columns)
        self.got.columns = list(columns)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        opts: RecorderOptions = self.ctx.options
        if opts.delay:
            time.sleep(opts.delay)
        if opts.fail:
            raise SinkError("recorder was told to fail" + (f": {opts.label}" if opts.label else ""))
        self.got.batches.append([tuple(r) for r in rows])

    def close(self) -> SinkResult:
        self.got.closed = True
        return SinkResult(fields={"recorded_rows": len(self.got.rows)})

    def abort(self, error: BaseException) -> None:
        self.got.aborted = error


class Recorder:
    """An inline plugin: sink ``recorder`` that keeps everything it receives."""

    name = "test-recorder"

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.finished: list[Any] = []
        self.started = threading.Event()
        self._lock = threading.Lock()
        self.sink_type = SinkType(
            name="recorder", label="Recorder", options=RecorderOptions,
            factory=lambda ctx: RecordingSink(ctx, self),
            legacy_keys={"rec_label": "label", "rec_delay": "delay"},
            legacy_object="rec_config")

    def add(self, got: Received) -> None:
        with self._lock:
            self.received.append(got)

    def last(self) -> Received:
        return self.received[-1]

    @hookimpl
    def register_sinks(self, register: Callable[[Any], None]) -> None:
        register(self.sink_type)

    @hookimpl
    def run_finished(self, record: Any, schedule: Any, pstt: Any) -> None:
        self.finished.append(record)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with registered(Recorder(), Recorder.name) as plugin:
        yield plugin


# MariaDB sessions at a zone that is not UTC, so that a value read in the session zone shows.
MARIADB_ZONE = "?init_command=SET%20time_zone%3D%27-05%3A00%27"


@contextmanager
def table_on(request: pytest.FixtureRequest, home: HomeBuilder, table: str,
             ddl: Mapping[str, str], database: str) -> Iterator[tuple[str, sa.Engine]]:
    """(URL, engine) of the database ``request.param`` names (sqlite, postgresql, mariadb at
    MARIADB_ZONE) with ``table`` created from ``ddl[dialect]`` and configured as ``database``
    in the home; the table is dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{home.root / (database + '.db')}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = request.getfixturevalue("mariadb_url") + MARIADB_ZONE
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(ddl[engine.dialect.name].format(t=table)))
    home.add_database(database, url, create_if_missing=True)
    try:
        yield url, engine
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
