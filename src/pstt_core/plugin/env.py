"""``PluginEnv``: what a plugin may use of one facade, and nothing else.

The facade builds one per plugin (:meth:`pstt_core.Pstt.plugin_env`) and hands it to the
plugin's sinks (``ctx.env``), option validators, connection tests, health checks and to the
hooks that take ``env``. It is frozen: a plugin reads settings and configuration, writes only
its own state, and sees only the runs of its own sharing modes.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..config import mask
from ..formats import OutputFormat, pick_format
from ..home import Home
from .state import FileStateBackend, PluginState, Resources

if TYPE_CHECKING:
    from ..backend import RunHistory
    from ..models import Schedule

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


class HistoryView:
    """Read-only run history of some sharing modes (a plugin's own), newest first.

    Records are copies: changing one changes nothing on disk.
    """

    def __init__(self, store: RunHistory | None, sharing_modes: Collection[str]):
        self._store = store
        self.sharing_modes = frozenset(sharing_modes)

    def query(self, *, schedule_id: str | None = None, status: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int | None = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Matching records newest first (``limit=None``: all) and how many match."""
        if self._store is None:
            return 0, []
        total, records = self._store.query(schedule_id=schedule_id, status=status, since=since,
                                           until=until, sharing_modes=self.sharing_modes,
                                           limit=limit, offset=offset)
        return total, [dict(rec) for rec in records]

    def get(self, export_id: str) -> dict[str, Any] | None:
        rec = self._store.get(export_id) if self._store is not None else None
        return dict(rec) if rec is not None and rec.get("sharing_mode") in self.sharing_modes \
            else None

    def last(self, schedule_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The newest record of each schedule (of these ids, if given)."""
        wanted = set(schedule_ids) if schedule_ids is not None else None
        last: dict[str, dict[str, Any]] = {}
        for rec in self.query(limit=None)[1]:
            sid = str(rec.get("schedule_id", ""))
            if sid not in last and (wanted is None or sid in wanted):
                last[sid] = rec
        return last


@attrs.frozen(kw_only=True)
class PluginEnv:
    """One plugin's view of a facade.

    :param name: the plugin's name (its entry-point name).
    :param settings: every effective setting, read-only.
    :param export_root: the directory sinks write under (``PSTT_EXPORT_ROOT``, by default
        ``<home>/exports``), resolved.
    :param state: the plugin's own state document and resources.
    :param history: the runs of the plugin's sharing modes.
    :param logger: ``pstt.plugins.<name>``, writing to the home's log.
    :param state_files: every state file of the home (the core's and each plugin's), which
        no sink may write to.
    :param private_dirs: directories PSTT keeps its own records in (the run journal
        ``exports/.journal``, the locks ``.locks``), resolved: no sink may write inside them
        (the export root may contain them).
    :param sharing_modes: the sharing modes this plugin registered.
    """

    name: str
    settings: Mapping[str, Any] = _EMPTY
    export_root: Path
    state: PluginState
    history: HistoryView
    logger: logging.Logger
    state_files: frozenset[Path] = frozenset()
    private_dirs: frozenset[Path] = frozenset()
    sharing_modes: frozenset[str] = frozenset()
    # A callable, like ``schedules``: ``pstt serve`` re-reads a changed connections.json, and
    # the env must show the configuration in force, not the one it was made with.
    _sections: Callable[[], Mapping[str, Mapping[str, Any]]] = attrs.field(
        default=lambda: _EMPTY, alias="sections")
    _secret_fields: Mapping[str, tuple[str, ...]] = attrs.field(default=_EMPTY,
                                                                alias="secret_fields")
    _formats: Mapping[str, OutputFormat] = attrs.field(default=_EMPTY, alias="formats")
    _schedules: Callable[[], Mapping[str, Schedule]] = attrs.field(default=lambda: {},
                                                                   alias="schedules")

    def section(self, name: str) -> Mapping[str, Any]:
        """Entries of a ``connections.json`` section by name (none if the section is absent)."""
        return types.MappingProxyType(dict(self._sections().get(name, {})))

    def masked_section(self, name: str) -> list[dict[str, Any]]:
        """The entries of a section as dicts, sorted by name, secret fields masked."""
        secret = self._secret_fields.get(name, ())
        entries = self._sections().get(name, {})
        return [mask(entries[key], secret) for key in sorted(entries)]

    def format(self, name: str) -> OutputFormat:
        """A registered output format; ``ConfigError`` if unknown or not installed."""
        return pick_format(self._formats, name)

    @property
    def format_names(self) -> list[str]:
        """Every registered output format, installed or not (for drop-downs and messages)."""
        return sorted(self._formats)

    def schedules(self) -> dict[str, Schedule]:
        """The valid schedules using this plugin's sharing modes."""
        return {sid: s for sid, s in self._schedules().items()
                if s.sharing_mode in self.sharing_modes}

    @classmethod
    def standalone(cls, name: str, home: Path, *, settings: Mapping[str, Any] | None = None,
                   sections: Mapping[str, Mapping[str, Any]] | None = None,
                   formats: Mapping[str, OutputFormat] | None = None,
                   sharing_modes: Collection[str] = ()) -> PluginEnv:
        """An env without a facade, for testing a plugin's parts (a sink, a validator) on
        their own: state in ``home/exports``, no history, the core formats by default."""
        if formats is None:
            from ..builtin import CORE_FORMATS

            formats = {f.name: f for f in CORE_FORMATS}
        layout = Home(home)
        return cls(name=name, settings=types.MappingProxyType(dict(settings or {})),
                   export_root=layout.exports.resolve(),
                   state=PluginState(name, FileStateBackend(layout.exports, layout.locks),
                                     Resources()),
                   private_dirs=frozenset(p.resolve() for p in layout.private_dirs),
                   history=HistoryView(None, sharing_modes), sharing_modes=frozenset(sharing_modes),
                   logger=logging.getLogger(f"pstt.plugins.{name}"),
                   sections=lambda: sections or _EMPTY, formats=formats)
