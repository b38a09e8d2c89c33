"""The SQL state backend (``PSTT_STATE_URL``): see :mod:`pstt_core.sql_state.store`; the
schema and its migrations: :mod:`pstt_core.sql_state.schema`."""

from __future__ import annotations

from .store import SqlBackend, make_engine, safe_url

__all__ = ["SqlBackend", "make_engine", "safe_url"]
