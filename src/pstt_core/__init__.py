"""PSTT core: scheduled SQL queries shipped to pluggable sinks."""

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
from .health import HealthCheck, HealthResult
from .hookspecs import hookimpl
from .models import Database, RunInfo, RunRecord, Schedule, Trigger
from .settings import Setting
from .sinks import Sink, SinkContext, SinkResult, SinkType

__all__ = [
    "ConfigError", "ConfigSection", "ConflictError", "Database", "FormatOptions", "FormatWriter",
    "HealthCheck", "HealthResult", "NotFoundError", "OutputFormat", "Pstt", "PsttError",
    "RecordNotWrittenError", "RunInfo", "RunRecord", "Schedule", "Setting", "Sink",
    "SinkContext", "SinkError", "SinkResult", "SinkType", "StateFileError", "Trigger",
    "hookimpl",
]
