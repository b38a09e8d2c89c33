"""PSTT core: scheduled SQL queries shipped to pluggable sinks.

This namespace is the public API for embedding (:class:`Pstt`) and for plugins: the sink
contract, the contribution types, the :class:`PluginEnv` a plugin gets and the helpers it may
use. A plugin imports only ``pstt_core`` and ``pstt_core.web``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import columnar

if TYPE_CHECKING:
    from .config import ConfigSection
    from .errors import (
        ConfigError,
        ConflictError,
        NotFoundError,
        PsttError,
        RecordNotWrittenError,
        SinkError,
        StateFileError,
    )
    from .facade import Pstt
    from .formats import FormatOptions, FormatWriter, OutputFormat
    from .formats.locales import CSV_LOCALES, DECIMAL_SEPARATORS, LOCALE_HELP
    from .health import HealthCheck, HealthResult
    from .hookspecs import hookimpl
    from .models import Database, RunInfo, RunRecord, RunStatus, Schedule, Trigger
    from .plugin import (
        HistoryView,
        ListFromText,
        PluginEnv,
        PluginState,
        StateBackend,
        StateFile,
        TemplateError,
        atomic_write_bytes,
        atomic_write_json,
        check_fields,
        dumps,
        fsync_dir,
        json_default,
        json_kind,
        parse_bool,
        render_template,
        slugify,
        to_text,
        utcnow,
    )
    from .plugins import register_plugin, unregister_plugin
    from .settings import Setting
    from .sinks import Sink, SinkContext, SinkResult, SinkType

# Each public name and the module it comes from: imported on first use (PEP 562), so
# that ``import pstt_core`` — every plugin and command does it — loads only what is used
# (``pstt --version`` needs no SQLAlchemy; a CSV run no web stack or unused sink).
_HOMES = {
    "ConfigSection": ".config",
    "ConfigError": ".errors",
    "ConflictError": ".errors",
    "NotFoundError": ".errors",
    "PsttError": ".errors",
    "RecordNotWrittenError": ".errors",
    "SinkError": ".errors",
    "StateFileError": ".errors",
    "Pstt": ".facade",
    "FormatOptions": ".formats",
    "FormatWriter": ".formats",
    "OutputFormat": ".formats",
    "CSV_LOCALES": ".formats.locales",
    "DECIMAL_SEPARATORS": ".formats.locales",
    "LOCALE_HELP": ".formats.locales",
    "HealthCheck": ".health",
    "HealthResult": ".health",
    "hookimpl": ".hookspecs",
    "Database": ".models",
    "RunInfo": ".models",
    "RunRecord": ".models",
    "RunStatus": ".models",
    "Schedule": ".models",
    "Trigger": ".models",
    "HistoryView": ".plugin",
    "ListFromText": ".plugin",
    "PluginEnv": ".plugin",
    "PluginState": ".plugin",
    "StateBackend": ".plugin",
    "StateFile": ".plugin",
    "TemplateError": ".plugin",
    "atomic_write_bytes": ".plugin",
    "atomic_write_json": ".plugin",
    "check_fields": ".plugin",
    "dumps": ".plugin",
    "fsync_dir": ".plugin",
    "json_default": ".plugin",
    "json_kind": ".plugin",
    "parse_bool": ".plugin",
    "render_template": ".plugin",
    "slugify": ".plugin",
    "to_text": ".plugin",
    "utcnow": ".plugin",
    "register_plugin": ".plugins",
    "unregister_plugin": ".plugins",
    "Setting": ".settings",
    "Sink": ".sinks",
    "SinkContext": ".sinks",
    "SinkResult": ".sinks",
    "SinkType": ".sinks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__all__ = [
    "CSV_LOCALES", "ConfigError", "ConfigSection", "ConflictError", "DECIMAL_SEPARATORS",
    "Database", "FormatOptions", "FormatWriter", "HealthCheck", "HealthResult", "HistoryView",
    "LOCALE_HELP", "ListFromText", "NotFoundError", "OutputFormat", "PluginEnv", "PluginState",
    "Pstt", "PsttError", "RecordNotWrittenError", "RunInfo", "RunRecord", "RunStatus", "Schedule",
    "Setting", "Sink", "SinkContext", "SinkError", "SinkResult", "SinkType", "StateBackend",
    "StateFile", "StateFileError", "TemplateError", "Trigger", "atomic_write_bytes",
    "atomic_write_json", "check_fields", "columnar", "dumps", "fsync_dir", "hookimpl", "json_default",
    "json_kind", "parse_bool", "register_plugin", "render_template", "slugify", "to_text",
    "unregister_plugin", "utcnow",
]
