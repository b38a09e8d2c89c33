"""The plugins of one facade: discovery, registration order, and the one hook caller.

Every facade (and the CLI) has its own pluggy ``PluginManager``, as pytest has one per
``Config``: two facades in one process with different ``PSTT_DISABLED_PLUGINS`` never disturb
each other. Registration order is fixed — the core, then the entry points of ``pstt.plugins``
sorted by name, then plugins registered at run time with :func:`register_plugin` (inline test
plugins) — and every hook is called through :meth:`Plugins.run`, one implementation at a time
in that order, so the first registration of a name wins everywhere and an exception is
isolated and attributed to the plugin that raised it.

Entry points are looked up once per process and each plugin module is imported the first time
a facade that does not block it needs it (:func:`rescan_entry_points` forgets both, after a
distribution was installed or removed at run time).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
import pluggy

from . import hookspecs

log = logging.getLogger("pstt.plugins")

ENTRY_POINT_GROUP = "pstt.plugins"
CORE = "pstt_core"

_lock = threading.Lock()
_entry_points: dict[str, importlib.metadata.EntryPoint] | None = None
_loaded: dict[str, tuple[object | None, str | None]] = {}  # name → (plugin, load error)
_runtime: dict[str, object] = {}  # plugins registered at run time, in registration order


def disabled_from_env(value: str | None = None) -> set[str]:
    """Plugin names from a ``PSTT_DISABLED_PLUGINS`` value (default: the environment's)."""
    raw = os.environ.get("PSTT_DISABLED_PLUGINS", "") if value is None else value
    return {name.strip() for name in raw.split(",") if name.strip()}


# -- plugins registered at run time ----------------------------------------------------------
def register_plugin(plugin: object, name: str) -> None:
    """Make ``plugin`` (a module or an object with ``@hookimpl`` methods) part of every facade
    created from now on, after the installed plugins, until :func:`unregister_plugin`.

    Facades created earlier keep the plugins they started with.
    """
    with _lock:
        current = _runtime.get(name)
        if current is not None and current is not plugin:
            raise ValueError(f"a plugin named {name!r} is already registered at run time")
        _runtime[name] = plugin


def unregister_plugin(plugin: object) -> None:
    """Undo :func:`register_plugin`; facades created meanwhile keep the plugin."""
    with _lock:
        for name in [n for n, p in _runtime.items() if p is plugin]:
            del _runtime[name]


def runtime_plugins() -> list[tuple[str, object]]:
    with _lock:
        return list(_runtime.items())


# -- installed plugins (entry points) --------------------------------------------------------
def _entry_point_table() -> dict[str, importlib.metadata.EntryPoint]:
    global _entry_points
    with _lock:
        if _entry_points is None:
            table: dict[str, importlib.metadata.EntryPoint] = {}
            for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                table.setdefault(ep.name, ep)  # the first distribution on the path wins
            _entry_points = dict(sorted(table.items()))
        return _entry_points


def _import(name: str) -> tuple[object | None, str | None]:
    """Import one entry point (once per process); a failure is kept as text, never raised."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
    ep = _entry_point_table()[name]
    try:
        result: tuple[object | None, str | None] = (ep.load(), None)
    except Exception as exc:  # reported by `pstt plugins` and /settings, never fatal
        result = (None, f"{type(exc).__name__}: {exc}")
    with _lock:
        return _loaded.setdefault(name, result)


def core_version() -> str:
    """The installed PSTT version (``unknown`` for a checkout that is not installed)."""
    return _version(CORE) or "unknown"


def _version(name: str) -> str | None:
    if name == CORE:
        try:
            return importlib.metadata.version("pstt")
        except importlib.metadata.PackageNotFoundError:
            return None
    ep = _entry_point_table().get(name)
    dist = getattr(ep, "dist", None) if ep is not None else None
    return dist.version if dist is not None else None


def rescan_entry_points() -> None:
    """Forget the entry points and imported plugins (after installing or removing a plugin
    distribution at run time); facades created afterwards look again."""
    global _entry_points
    with _lock:
        _entry_points = None
        _loaded.clear()


# -- the plugins of one facade ---------------------------------------------------------------
@attrs.define
class PluginInfo:
    name: str
    version: str | None
    hooks: list[str]
    blocked: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class HookFailure:
    """One implementation that could not run, attributed to its plugin."""

    plugin: str
    hook: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.hook} {self.error}"


class Plugins:
    """The plugin manager of one facade, and the only place that calls hook implementations.

    :param disabled: plugin names not to load (``PSTT_DISABLED_PLUGINS``); the core cannot be
        disabled.
    :param pm: a ready ``PluginManager`` to use as it is (its registration order is kept).
    """

    def __init__(self, disabled: Iterable[str] = (), *, pm: pluggy.PluginManager | None = None):
        self.problems: list[str] = []  # shown by `pstt plugins`, `pstt check` and /settings
        self.load_errors: dict[str, str] = {}
        self.blocked: set[str] = set()
        self.pm = pm if pm is not None else self._load(set(disabled) - {CORE})

    def _load(self, disabled: set[str]) -> pluggy.PluginManager:
        from . import builtin

        pm = pluggy.PluginManager("pstt")
        pm.add_hookspecs(hookspecs)
        pm.register(builtin, name=CORE)
        installed = [(name, None) for name in _entry_point_table()]
        for name, plugin in [*installed, *runtime_plugins()]:
            if name in disabled:
                self.blocked.add(name)
                continue
            if plugin is None:
                plugin, error = _import(name)
                if error is not None:
                    self.load_errors[name] = error
                    continue
            elif pm.is_registered(plugin):  # registered at run time and installed as well
                continue
            self._register(pm, plugin, name)
        return pm

    def _register(self, pm: pluggy.PluginManager, plugin: object, name: str) -> None:
        try:
            pm.register(plugin, name=name)
            pm.check_pending()
        except ValueError as exc:  # the same module under two names, or a name taken
            self.problems.append(f"plugin {name!r} not loaded: {exc}")
        except pluggy.PluginValidationError as exc:  # a hook with a wrong signature or name
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            self.load_errors[name] = f"PluginValidationError: {exc}"

    # -- calling hooks -------------------------------------------------------------------
    def implementations(self, hook: str) -> list[Any]:
        """The implementations of ``hook`` in registration order (never pluggy's LIFO)."""
        order = {name: i for i, (name, _) in enumerate(self.pm.list_name_plugin())}
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        return sorted(impls, key=lambda impl: order.get(impl.plugin_name, len(order)))

    def run(self, hook: str,
            kwargs_for: Callable[[str], Mapping[str, Any]]) -> list[HookFailure]:
        """Call each implementation of ``hook`` with ``kwargs_for(plugin)`` (each gets the
        arguments it declares). An exception is logged and returned as a :class:`HookFailure`;
        it never stops the other implementations."""
        failures = []
        for impl in self.implementations(hook):
            plugin = impl.plugin_name
            if impl.hookwrapper or impl.wrapper:
                # Each implementation is called on its own (so its contributions can be
                # attributed), which leaves a wrapper nothing to wrap.
                failures.append(HookFailure(plugin, hook, "is a hook wrapper; PSTT does not "
                                                          "support wrappers (ignored)"))
                log.warning("%s", failures[-1])
                continue
            kwargs = kwargs_for(plugin)
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as exc:
                failures.append(HookFailure(plugin, hook, f"failed: {type(exc).__name__}: {exc}"))
                log.warning("%s", failures[-1], exc_info=True)
        return failures

    def collect(self, hook: str, accept: Callable[[str, Any], None], *,
                env_for: Callable[[str], Any] | None = None, **kwargs: Any) -> None:
        """A contribution hook: ``register`` is bound to each plugin, so ``accept(plugin,
        item)`` can attribute every item; failures become :attr:`problems`."""
        def kwargs_for(plugin: str) -> dict[str, Any]:
            def register(*args: Any) -> None:
                accept(plugin, args[0] if len(args) == 1 else args)
            extra = {"env": env_for(plugin)} if env_for is not None else {}
            return {**kwargs, **extra, "register": register}

        self.problems.extend(str(f) for f in self.run(hook, kwargs_for))

    def notify(self, hook: str, *, env_for: Callable[[str], Any] | None = None,
               **kwargs: Any) -> list[HookFailure]:
        """An observer or lifecycle hook: every implementation, failures returned."""
        def kwargs_for(plugin: str) -> Mapping[str, Any]:
            return {**kwargs, "env": env_for(plugin)} if env_for is not None else kwargs

        return self.run(hook, kwargs_for)

    # -- introspection -------------------------------------------------------------------
    def names(self) -> list[str]:
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def info(self) -> list[PluginInfo]:
        """Registered, broken and blocked plugins, with their distribution version."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            out.append(PluginInfo(name, _version(name), hooks))
        out += [PluginInfo(name, _version(name), [], error=error)
                for name, error in self.load_errors.items()]
        out += [PluginInfo(name, None, [], blocked=True) for name in sorted(self.blocked)]
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


# -- deprecated process-wide API (kept for one release) ---------------------------------------
class _RuntimeRegistrations:
    """What ``get_plugin_manager()`` returns now: register/unregister at run time."""

    def register(self, plugin: object, name: str | None = None) -> str:
        chosen = name or getattr(plugin, "__name__", None) or str(id(plugin))
        register_plugin(plugin, chosen)
        return chosen

    def unregister(self, plugin: object) -> None:
        unregister_plugin(plugin)

    def is_registered(self, plugin: object) -> bool:
        return any(p is plugin for _, p in runtime_plugins())


def get_plugin_manager(disabled: Iterable[str] | None = None) -> _RuntimeRegistrations:
    """Deprecated: each facade has its own plugin manager now. The object returned still
    registers plugins for facades created later (``register(plugin, name=...)``,
    ``unregister(plugin)``); use :func:`register_plugin` / :func:`unregister_plugin`."""
    warnings.warn("pstt_core.plugins.get_plugin_manager() is deprecated: use "
                  "pstt_core.register_plugin() / unregister_plugin()", DeprecationWarning,
                  stacklevel=2)
    return _RuntimeRegistrations()


def reset_plugin_manager() -> None:
    """Deprecated name of :func:`rescan_entry_points`."""
    warnings.warn("pstt_core.plugins.reset_plugin_manager() is deprecated: use "
                  "rescan_entry_points()", DeprecationWarning, stacklevel=2)
    rescan_entry_points()
