"""Moving a home's state between the files backend and a state database: ``pstt state
migrate --to URL`` and ``pstt state export DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backend import CORE_DOCUMENTS, holds_items
from ..state import atomic_write_json
from . import schema
from .store import SqlBackend

if TYPE_CHECKING:
    from ..backend import FilesBackend, StateBackend


def migrate(files: FilesBackend, sql: SqlBackend, plugins: list[str]) -> dict[str, Any]:
    """Copy the history and the plugins' documents of ``files`` into ``sql`` (its schema
    created or upgraded first). Idempotent: records already there (same ``export_id``) and
    documents the database already has are left as they are. The files are not changed.

    Returns what was found and copied, after checking that every record of the files is in
    the database (``RuntimeError`` otherwise)."""
    schema.upgrade(sql.engine)
    records = files.history.query(limit=None)[1][::-1]  # oldest first, as they were written
    added = sql.history.add_missing(records)
    ids = {str(r.get("export_id")) for r in records}
    stored = {str(r.get("export_id")) for r in sql.history.query(limit=None)[1]}
    missing = ids - stored
    if missing:
        raise RuntimeError(f"{len(missing)} record(s) of {files.history.location} are not in "
                           f"{sql.describe()} after the copy (e.g. {sorted(missing)[0]})")
    core = []
    for name in CORE_DOCUMENTS:
        here = files.document(name, None)
        there = sql.document(name, None)
        if here.stamp() is not None and not holds_items(there.load()):
            there.save(here.load())
            core.append(name)
    copied = []
    for plugin in plugins:
        if not files.documents.path(plugin).exists():
            continue
        document = files.documents.read(plugin)
        if not sql.documents.read(plugin):
            sql.documents.replace(plugin, document)
            copied.append(plugin)
    return {"records": len(records), "records_added": added, "records_in_database":
            len(stored), "documents_copied": copied, "core_copied": core}



def export(backend: StateBackend, directory: Path, plugins: list[str],
           document_files: dict[str, str]) -> dict[str, Any]:
    """Write the state as the files backend's files into ``directory``: the schedules, the
    watermarks, the history (oldest first), the counters and each plugin's document (under
    its registered file name)."""
    from ..plugin.state import FileStateBackend

    directory.mkdir(parents=True, exist_ok=True)
    records = backend.history.query(limit=None)[1][::-1]
    atomic_write_json(directory / "scheduler_history.json", records)
    atomic_write_json(directory / "scheduler_metrics.json", backend.counters.data())
    for name in CORE_DOCUMENTS:
        document = backend.document(name, None).load()
        if document is not None:
            atomic_write_json(directory / f"{name}.json", document)
    written = []
    for plugin in plugins:
        document = backend.documents.read(plugin)
        if document:
            atomic_write_json(FileStateBackend.path_in(directory, plugin, document_files),
                              document)
            written.append(plugin)
    return {"records": len(records), "documents": written}
