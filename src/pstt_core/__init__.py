"""PSTT core: scheduled SQL queries shipped to pluggable sinks.

This namespace is the public API for embedding (:class:`Pstt`) and for plugins: the sink
contract, the contribution types, the :class:`PluginEnv` a plugin gets and the helpers it may
use. A plugin imports only ``pstt_core`` and ``pstt_core.web``.
"""

from __future__ import annotations

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

__all__ = [
    "CSV_LOCALES", "ConfigError", "ConfigSection", "ConflictError", "DECIMAL_SEPARATORS",
    "Database", "FormatOptions", "FormatWriter", "HealthCheck", "HealthResult", "HistoryView",
    "LOCALE_HELP", "ListFromText", "NotFoundError", "OutputFormat", "PluginEnv", "PluginState",
    "Pstt", "PsttError", "RecordNotWrittenError", "RunInfo", "RunRecord", "RunStatus", "Schedule",
    "Setting", "Sink", "SinkContext", "SinkError", "SinkResult", "SinkType", "StateBackend",
    "StateFile", "StateFileError", "TemplateError", "Trigger", "atomic_write_bytes",
    "atomic_write_json", "check_fields", "dumps", "fsync_dir", "hookimpl", "json_default",
    "json_kind", "parse_bool", "register_plugin", "render_template", "slugify", "to_text",
    "unregister_plugin", "utcnow",
]
