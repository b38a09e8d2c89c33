"""A plugin's own state: a JSON document shared by every process on the home, and the
process-local resources (clients, pools) the plugin opened, closed by ``Pstt.close()``.

The document goes through a :class:`StateBackend`. The files backend keeps one JSON object
per plugin in ``exports/`` (``<plugin>_state.json``, or the name the plugin gave with the
``register_state_file`` hook — the Kafka plugin keeps ``kafka_metrics.json``), written
atomically under a cross-process lock (:class:`pstt_core.state.JsonFile`). Another backend
(e.g. a database shared by several instances) implements the same methods.

A document that cannot be understood — not JSON, not an object, or refused by the
validator the plugin gave its :class:`StateFile` — raises
:class:`~pstt_core.errors.StateFileError` wherever it is read, and is never written over by
an update (every update reads first): the user repairs it (``pstt state repair``).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from ..errors import ConfigError, StateFileError
from ..state import JsonFile, json_kind

log = logging.getLogger("pstt.state")
T = TypeVar("T")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.json$")


@attrs.frozen
class StateFile:
    """The file (in ``exports/``) a plugin's state document is kept in, for the files backend.

    :param name: a plain file name ending in ``.json`` (``kafka_metrics.json``).
    :param validate: ``validate(document, file)`` raises
        :class:`~pstt_core.StateFileError` (with the JSON path) for a document the plugin
        cannot understand; called once per change of the file, before anything reads it.
    """

    name: str
    description: str = ""
    validate: Callable[[dict[str, Any], str], None] | None = None

    def problem(self) -> str | None:
        if not _FILE_RE.match(self.name):
            return (f"state file name {self.name!r} must be a plain file name of letters, "
                    "digits, '.', '_' or '-' ending in .json")
        return None


def default_state_file(plugin: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', plugin)}_state.json"


def check_document(data: Any, file: str,
                   validate: Callable[[dict[str, Any], str], None] | None = None) -> None:
    """A plugin's document is a JSON object, and its plugin's validator accepts it."""
    if not isinstance(data, dict):
        raise StateFileError(f"must be an object, not {json_kind(data)}", file=file, path="$")
    if validate is not None:
        validate(data, file)


class StateBackend(Protocol):
    """Where plugin documents live. ``modify`` is a read-modify-write that no other writer
    (thread or process) interleaves with."""

    def read(self, plugin: str) -> dict[str, Any]:
        """The plugin's document (``{}`` when there is none yet); the caller may keep it.
        ``StateFileError`` when the stored document cannot be understood (see
        :func:`check_document`)."""

    def modify(self, plugin: str,
               change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``change`` to the current document under the lock and store its result."""

    def replace(self, plugin: str, document: dict[str, Any]) -> None:
        """Store ``document`` without reading the current one (which may be unreadable)."""

    def location(self, plugin: str) -> str:
        """Where the document is, for messages."""


class FileStateBackend:
    """One JSON file per plugin in ``directory``; locks in ``lock_dir``.

    :param files: file names chosen by plugins; the others use :func:`default_state_file`.
    :param validators: the plugins' document validators (:attr:`StateFile.validate`).
    """

    def __init__(self, directory: Path, lock_dir: Path, files: Mapping[str, str] | None = None,
                 validators: Mapping[str, Callable[[dict[str, Any], str], None]] | None = None):
        self.directory = directory
        self.lock_dir = lock_dir
        self.files = dict(files or {})
        self.validators = dict(validators or {})
        self._open: dict[str, JsonFile] = {}
        self._guard = threading.Lock()

    def path(self, plugin: str) -> Path:
        return self.directory / self.files.get(plugin, default_state_file(plugin))

    def _file(self, plugin: str) -> JsonFile:
        with self._guard:
            if plugin not in self._open:
                validate = self.validators.get(plugin)
                self._open[plugin] = JsonFile(
                    self.path(plugin), {}, lock_dir=self.lock_dir,
                    validate=lambda data, file: check_document(data, file, validate))
            return self._open[plugin]

    def read(self, plugin: str) -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(self._file(plugin).load())
        return data

    def modify(self, plugin: str,
               change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        file = self._file(plugin)
        with file.lock:
            new = change(copy.deepcopy(file.load()))  # a damaged document raises here
            if not isinstance(new, dict):
                raise ConfigError(f"the state of plugin {plugin!r} must be a JSON object, "
                                  f"not {type(new).__name__}", file=str(file.path))
            file.save(new)
            return copy.deepcopy(new)

    def replace(self, plugin: str, document: dict[str, Any]) -> None:
        file = self._file(plugin)
        with file.lock:
            file.save(document)

    def location(self, plugin: str) -> str:
        return str(self.path(plugin))


class Resources:
    """Process-local objects of one facade's plugins, closed (newest first) by ``close_all``."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()

    def get(self, plugin: str, name: str, factory: Callable[[], T]) -> T:
        key = (plugin, name)
        with self._lock:
            if key not in self._items:
                self._items[key] = factory()
            item: T = self._items[key]
            return item

    def held(self) -> list[tuple[str, str]]:
        """(plugin, name) of every open resource, oldest first."""
        with self._lock:
            return list(self._items)

    def close_all(self) -> None:
        with self._lock:
            items = list(self._items.items())
            self._items.clear()
        for (plugin, name), item in reversed(items):
            close = getattr(item, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception:  # one plugin's failing close must not keep others open
                log.exception("closing resource %r of plugin %r failed", name, plugin)


class PluginState:
    """The plugin's slot: named members of one JSON document, plus its resources.

    >>> env.state.update("runs", lambda n: n + 1, default=0)     # doctest: +SKIP
    >>> client = env.state.resource("client", lambda: Client(...))   # doctest: +SKIP
    """

    def __init__(self, plugin: str, backend: StateBackend, resources: Resources):
        self.plugin = plugin
        self._backend = backend
        self._resources = resources

    @property
    def location(self) -> str:
        return self._backend.location(self.plugin)

    def read(self) -> dict[str, Any]:
        """The whole document (a copy); ``{}`` before anything was written."""
        return self._backend.read(self.plugin)

    def get(self, key: str, default: Any = None) -> Any:
        return self.read().get(key, default)

    def update(self, key: str, change: Callable[[Any], Any], default: Any = None) -> Any:
        """Replace member ``key`` by ``change(current)`` without losing a concurrent write of
        another member; returns the new value."""
        def apply(doc: dict[str, Any]) -> dict[str, Any]:
            doc[key] = change(doc.get(key, default))
            return doc

        return self._backend.modify(self.plugin, apply)[key]

    def modify(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Replace the whole document by ``change(current)`` in one read-modify-write that no
        other writer (thread, process, instance) interleaves with; returns the new document.
        For figures several processes add to: ``change`` adds this process's part to what
        is stored, instead of writing its own copy over it."""
        return self._backend.modify(self.plugin, change)

    def write(self, document: Mapping[str, Any]) -> None:
        """Replace the whole document (also one that can no longer be read)."""
        self._backend.replace(self.plugin, dict(document))

    def resource(self, name: str, factory: Callable[[], T]) -> T:
        """A process-local object (a client, a pool) made by ``factory`` on first use and
        shared by every caller of this facade; ``close()`` is called on it by ``Pstt.close()``
        (and ``Pstt.stop()``), after which the next use makes a new one."""
        return self._resources.get(self.plugin, name, factory)
