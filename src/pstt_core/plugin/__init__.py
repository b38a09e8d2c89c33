"""The plugin API: the environment a plugin gets, its state slot, and the helpers a plugin
legitimately needs. Everything here is re-exported from :mod:`pstt_core`; a plugin imports
only ``pstt_core`` and ``pstt_core.web`` (a test reads the imports of the built-in sinks).
"""

from __future__ import annotations

from ..converter import ListFromText
from ..models import utcnow
from ..schedules import slugify
from ..state import atomic_write_bytes, atomic_write_json, check_fields, fsync_dir, json_kind
from ..templates import TemplateError, render_template
from ..values import dumps, json_default, parse_bool, to_text
from .env import HistoryView, PluginEnv
from .state import PluginState, StateBackend, StateFile

__all__ = [
    "HistoryView", "ListFromText", "PluginEnv", "PluginState", "StateBackend", "StateFile",
    "atomic_write_bytes", "atomic_write_json", "check_fields", "dumps", "fsync_dir",
    "json_default", "json_kind", "parse_bool", "slugify", "to_text", "utcnow",
    "TemplateError", "render_template",
]
