"""Contributions collected from the plugins' ``register_*`` hooks, validated and attributed.

Each hook implementation is called on its own with a ``register`` callback bound to its
plugin's name, so a duplicate or a wrong type is reported against the plugin that made it.
The first registration of a name wins; later ones are recorded in ``problems``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from .config import ConfigSection
from .errors import ConfigError, NotFoundError
from .formats import OutputFormat
from .health import HealthCheck
from .settings import Setting
from .sinks import SinkType


def call_register_hook(pm: pluggy.PluginManager, hook_name: str,
                       accept: Callable[[str, Any], None], **kwargs: Any) -> None:
    """Call every implementation of ``hook_name`` with ``register`` bound to its plugin.

    Implementations are called in registration order (the core, then entry points by name,
    then plugins registered at run time), so a late plugin cannot take over a name.
    """
    caller = getattr(pm.hook, hook_name)
    for impl in caller.get_hookimpls():
        def register(*args: Any, _plugin: str = impl.plugin_name) -> None:
            accept(_plugin, args[0] if len(args) == 1 else args)
        impl.function(register=register, **{k: v for k, v in kwargs.items()
                                             if k in impl.argnames})


class Registry:
    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.sinks: dict[str, SinkType] = {}
        self.formats: dict[str, OutputFormat] = {}
        self.settings: dict[str, Setting] = {}
        self.sections: dict[str, ConfigSection] = {}
        self.health_checks: dict[str, HealthCheck] = {}
        self.owner: dict[tuple[str, str], str] = {}
        self.problems: list[str] = []
        self._collect("register_sinks", SinkType, self.sinks, "sink type")
        self._collect("register_formats", OutputFormat, self.formats, "format")
        self._collect("register_settings", Setting, self.settings, "setting")
        self._collect("register_config_sections", ConfigSection, self.sections, "config section")
        self._collect("register_health_checks", HealthCheck, self.health_checks, "health check")

    def _collect(self, hook: str, kind: type, target: dict[str, Any], label: str) -> None:
        def accept(plugin: str, item: Any) -> None:
            if not isinstance(item, kind):
                self.problems.append(f"plugin {plugin!r}: {hook} got {type(item).__name__}, "
                                     f"expected {kind.__name__}")
                return
            name = item.name  # type: ignore[attr-defined]
            if name in target:
                first = self.owner[(label, name)]
                self.problems.append(f"plugin {plugin!r}: {label} {name!r} is already registered "
                                     f"by {first!r}; ignored")
                return
            target[name] = item
            self.owner[(label, name)] = plugin

        call_register_hook(self.pm, hook, accept)

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
        try:
            fmt = self.formats[name]
        except KeyError:
            known = ", ".join(sorted(self.formats))
            raise ConfigError(f"unknown format {name!r}; available: {known}") from None
        if not fmt.available:
            raise ConfigError(fmt.unavailable_reason or f"format {name!r} unavailable")
        return fmt

    def plugin_of(self, label: str, name: str) -> str | None:
        return self.owner.get((label, name))
