"""Contributions collected from the plugins' declaration hooks, validated and attributed.

Each hook implementation is called on its own with a ``register`` callback bound to its
plugin's name (:meth:`pstt_core.plugins.Plugins.collect`), so a duplicate or a wrong type is
reported against the plugin that made it. The first registration of a name wins; later ones,
and hooks that raised, are recorded in ``problems`` (the facade's plugin problems).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .config import ConfigSection
from .errors import ConfigError, NotFoundError
from .formats import OutputFormat, pick_format
from .health import HealthCheck
from .plugin.state import StateFile
from .plugins import CORE, Plugins
from .settings import Setting
from .sinks import SinkType


class Registry:
    """:param reserved: names the core keeps for itself, per kind (``"health check"``)."""

    def __init__(self, plugins: Plugins, *, reserved: dict[str, Iterable[str]] | None = None,
                 reserved_files: Iterable[str] = ()):
        self.plugins = plugins
        self.problems = plugins.problems
        self.sinks: dict[str, SinkType] = {}
        self.formats: dict[str, OutputFormat] = {}
        self.settings: dict[str, Setting] = {}
        self.sections: dict[str, ConfigSection] = {}
        self.health_checks: dict[str, HealthCheck] = {}
        self.state_files: dict[str, StateFile] = {}  # plugin → its file
        self.owner: dict[tuple[str, str], str] = {
            (label, name): CORE for label, names in (reserved or {}).items() for name in names}
        self._reserved_files = frozenset(reserved_files)
        self._collect("register_sinks", SinkType, self.sinks, "sink type")
        self._collect("register_formats", OutputFormat, self.formats, "format")
        self._collect("register_settings", Setting, self.settings, "setting")
        self._collect("register_config_sections", ConfigSection, self.sections, "config section")
        self._collect("register_health_checks", HealthCheck, self.health_checks, "health check")
        plugins.collect("register_state_file", self._accept_state_file)

    def _collect(self, hook: str, kind: type, target: dict[str, Any], label: str) -> None:
        def accept(plugin: str, item: Any) -> None:
            if not isinstance(item, kind):
                self.problems.append(f"plugin {plugin!r}: {hook} got {type(item).__name__}, "
                                     f"expected {kind.__name__}")
                return
            name = item.name  # type: ignore[attr-defined]
            if (label, name) in self.owner:
                first = self.owner[(label, name)]
                self.problems.append(f"plugin {plugin!r}: {label} {name!r} is already registered "
                                     f"by {first!r}; ignored")
                return
            target[name] = item
            self.owner[(label, name)] = plugin

        self.plugins.collect(hook, accept)

    def _accept_state_file(self, plugin: str, item: Any) -> None:
        def refuse(why: str) -> None:
            self.problems.append(f"plugin {plugin!r}: register_state_file: {why}; ignored")

        if not isinstance(item, StateFile):
            return refuse(f"got {type(item).__name__}, expected StateFile")
        if plugin in self.state_files:
            return refuse(f"a plugin has one state file, already {self.state_files[plugin].name!r}")
        problem = item.problem()
        if problem:
            return refuse(problem)
        taken = {f.name: p for p, f in self.state_files.items()}
        if item.name in self._reserved_files or item.name in taken:
            return refuse(f"{item.name!r} is the state file of "
                          f"{taken.get(item.name, 'the core')!r}")
        self.state_files[plugin] = item
        return None

    def sink(self, name: str) -> SinkType:
        """The sink type for ``sharing_mode`` ``name``; clear errors if absent or unavailable."""
        try:
            st = self.sinks[name]
        except KeyError:
            known = ", ".join(sorted(self.sinks)) or "none"
            raise NotFoundError(f"unknown sharing_mode {name!r}; installed: {known}") from None
        reason = st.unavailable_reason
        if reason:
            raise ConfigError(f"sharing_mode {name!r} is unavailable: {reason}")
        return st

    def format(self, name: str) -> OutputFormat:
        return pick_format(self.formats, name)

    def plugin_of(self, label: str, name: str) -> str | None:
        return self.owner.get((label, name))

    def sharing_modes_of(self, plugin: str) -> frozenset[str]:
        return frozenset(name for name in self.sinks
                         if self.owner.get(("sink type", name)) == plugin)
