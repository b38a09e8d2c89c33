"""The one PluginManager of the process: loaded lazily, once.

Plugins are found through the entry-point group ``pstt.plugins`` (the built-in sinks too);
names listed in ``PSTT_DISABLED_PLUGINS`` are blocked before loading.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "pstt.plugins"
_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None
_load_errors: dict[str, str] = {}


def disabled_from_env(value: str | None = None) -> set[str]:
    raw = os.environ.get("PSTT_DISABLED_PLUGINS", "") if value is None else value
    return {name.strip() for name in raw.split(",") if name.strip()}


def get_plugin_manager(disabled: Iterable[str] | None = None) -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading plugins on first use.

    :param disabled: plugin names to block. ``None`` keeps the current blocking (the first
        call uses ``$PSTT_DISABLED_PLUGINS``). A set given later blocks (unregisters) the
        names it adds and loads again the names blocked before but not listed any more: the
        latest facade's setting wins.
    """
    global _pm
    with _lock:
        if _pm is None:
            pm = pluggy.PluginManager("pstt")
            pm.add_hookspecs(hookspecs)
            for name in disabled_from_env() if disabled is None else set(disabled):
                pm.set_blocked(name)
            from . import builtin

            pm.register(builtin, name="pstt_core")
            _load_entry_points(pm)
            pm.check_pending()
            _pm = pm
        elif disabled is not None:
            blocked = set(disabled)
            for name in blocked - {"pstt_core"}:
                if not _pm.is_blocked(name):
                    _pm.set_blocked(name)
            for name in set(_blocked_names(_pm)) - blocked:
                _pm.unblock(name)
                _load_entry_points(_pm, only=name)
        return _pm


def _load_entry_points(pm: pluggy.PluginManager, only: str | None = None) -> None:
    """Load the group one name at a time, so one broken plugin cannot take the others down."""
    names = sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})
    for name in names:
        if only is not None and name != only:
            continue
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
        except Exception as exc:  # reported by `pstt plugins` and /settings, never fatal
            _load_errors[name] = f"{type(exc).__name__}: {exc}"


def reset_plugin_manager() -> None:
    """Forget the loaded plugins (tests; after installing a plugin at run time)."""
    global _pm
    with _lock:
        _pm = None
        _load_errors.clear()


@attrs.define
class PluginInfo:
    name: str
    version: str | None
    hooks: list[str]
    blocked: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def list_plugins(pm: pluggy.PluginManager | None = None) -> list[PluginInfo]:
    """Registered, blocked and broken plugins with their distribution version."""
    pm = pm or get_plugin_manager()
    versions = {pm.get_name(plugin): dist.version for plugin, dist in pm.list_plugin_distinfo()}
    out = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        version = versions.get(name) or (_core_version() if name == "pstt_core" else None)
        out.append(PluginInfo(name, version, hooks))
    for name, error in _load_errors.items():
        out.append(PluginInfo(name, None, [], error=error))
    for name in sorted(_blocked_names(pm)):
        out.append(PluginInfo(name, None, [], blocked=True))
    return out


def _blocked_names(pm: pluggy.PluginManager) -> list[str]:
    return [name for name, plugin in pm._name2plugin.items() if plugin is None]


def _core_version() -> str | None:
    try:
        return importlib.metadata.version("pstt")
    except importlib.metadata.PackageNotFoundError:
        return None
