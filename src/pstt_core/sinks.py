"""The sink contract: what a sharing mode implements and how the pipeline drives it.

A run calls, in order: ``factory(ctx)`` → ``open(columns)`` → ``write(rows)`` for every
batch → ``close()`` which returns a :class:`SinkResult`. If anything fails after the sink
was created, ``abort(error)`` is called instead of ``close()`` so the sink can remove partial
output. Sinks are called from a worker thread, never from the event loop.
"""

from __future__ import annotations

import abc
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .converter import structure, unstructure
from .models import RunInfo, Schedule

if TYPE_CHECKING:
    from .facade import Pstt


@attrs.define
class SinkResult:
    """What a sink reports when it closes.

    :param status: ``None`` lets the pipeline decide (``success``); a sink that delivered only
        part of the rows says ``partial`` or ``failed`` and gives ``error``.
    :param fields: extra history fields (``kafka_topic``, ``path``, ``recipients`` …).
    """

    status: str | None = None
    error: str | None = None
    fields: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class SinkContext:
    """Everything a sink may need for one run."""

    options: Any
    run: RunInfo
    pstt: Pstt

    @property
    def schedule(self) -> Schedule:
        return self.run.schedule


class Sink(abc.ABC):
    """Base class for sinks. Rows are sequences of values in ``columns`` order."""

    def __init__(self, ctx: SinkContext):
        self.ctx = ctx
        self.columns: list[str] = []

    def open(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    @abc.abstractmethod
    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        """Take one batch of rows. Memory must not grow with the number of batches."""

    @abc.abstractmethod
    def close(self) -> SinkResult:
        """Finish delivery (flush, rename, send) and report the outcome."""

    def abort(self, error: BaseException) -> None:  # noqa: B027 - optional to override
        """Undo partial output after a failure. Must not raise."""

    def partial_fields(self) -> dict[str, Any]:
        """History fields for a failed run (e.g. messages delivered before the failure)."""
        return {}

    def progress_fields(self) -> dict[str, Any]:
        """What is confirmed delivered so far, e.g. ``kafka_messages_sent``; called after
        each batch for the run journal, so it must be cheap and never wait. If the process
        dies, the ``interrupted`` record keeps these figures (never more than happened)."""
        return {}


def option_schema(cls: type, pstt: Pstt | None = None) -> list[dict[str, Any]]:
    """Describe an attrs options class for forms and the API.

    Field metadata understood: ``label``, ``help``, ``choices``, ``widget`` (``text``,
    ``textarea``, ``number``, ``checkbox``, ``select``, ``list``, ``json`` — the default for
    mapping fields: a JSON object typed into a textarea), ``secret``, ``advanced``, and
    ``choices_from``: the name of a ``connections.json`` section (``"databases"`` or a plugin
    section such as ``"kafka_connections"``) whose entry names become the choices — given
    ``pstt``, so a form offers the configured connections as a drop-down.
    """
    fields = []
    for a in attrs.fields(cls):
        meta = dict(a.metadata)
        source = meta.get("choices_from")
        if source and pstt is not None:
            names = sorted(pstt.config.databases if source == "databases"
                           else pstt.config.section(source))
            if names:  # with nothing configured the field stays free text
                meta["choices"] = tuple(names)
        required = a.default is attrs.NOTHING
        default = None
        if not required:
            factory = getattr(a.default, "factory", None)
            default = factory() if factory is not None else a.default
        type_name = getattr(a.type, "__name__", str(a.type))
        widget = meta.get("widget") or _widget_for(str(a.type), meta)
        fields.append({
            "name": a.name,
            "label": meta.get("label", a.name.replace("_", " ").capitalize()),
            "type": type_name,
            "widget": widget,
            "required": required,
            "default": unstructure(default),
            "help": meta.get("help", ""),
            "choices": list(meta.get("choices", ())),
            "secret": bool(meta.get("secret", False)),
            "advanced": bool(meta.get("advanced", False)),
        })
    return fields


def _widget_for(type_text: str, meta: Mapping[str, Any]) -> str:
    if meta.get("choices"):
        return "select"
    if "dict" in type_text or "Mapping" in type_text:
        return "json"
    if "bool" in type_text:
        return "checkbox"
    if "int" in type_text or "float" in type_text:
        return "number"
    if "list" in type_text:
        return "list"
    return "text"


@attrs.frozen
class SinkType:
    """A sharing mode as registered by a plugin.

    :param name: the ``sharing_mode`` value in schedules.
    :param options: attrs class of ``sink_options``; unknown keys are refused.
    :param factory: builds a :class:`Sink` for one run.
    :param requires: importable module names the sink needs; if one is missing the mode is
        listed as unavailable with ``install_hint``.
    :param legacy_keys: flat schedule fields accepted as option spellings
        (``{"kafka_topic": "topic"}``).
    :param legacy_object: a nested schedule object also accepted (``"kafka_config"``).
    :param validate: ``validate(options, pstt)`` checks the options against configuration
        (e.g. that a named server exists) and raises ``ConfigError``.
    :param history_fields: the extra history fields this sink writes, for pages.
    """

    name: str
    label: str
    options: type
    factory: Callable[[SinkContext], Sink]
    description: str = ""
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    legacy_keys: Mapping[str, str] = attrs.field(factory=dict)
    legacy_object: str | None = None
    validate: Callable[[Any, Pstt], None] | None = None
    history_fields: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)

    @property
    def unavailable_reason(self) -> str | None:
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if not missing:
            return None
        return f"missing Python module(s) {', '.join(missing)}; install with: {self.install_hint}"

    def parse_options(self, data: Mapping[str, Any], *, file: str | None = None,
                      path: str = "$.sink_options") -> Any:
        return structure(dict(data), self.options, file=file, path=path)

    def absorb_legacy(self, schedule: Schedule) -> None:
        """Move legacy spellings from the schedule's unknown fields into ``sink_options``."""
        nested = schedule.extra.pop(self.legacy_object, None) if self.legacy_object else None
        if isinstance(nested, dict):
            for key, value in nested.items():
                option = self.legacy_keys.get(key, key)
                schedule.sink_options.setdefault(option, value)
        for legacy, option in self.legacy_keys.items():
            if legacy in schedule.extra:
                value = schedule.extra.pop(legacy)
                if value is not None:
                    schedule.sink_options.setdefault(option, value)

    def describe(self, pstt: Pstt | None = None) -> dict[str, Any]:
        """The sink type for pages and the API; ``pstt`` resolves ``choices_from`` options."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "available": self.available,
            "unavailable_reason": self.unavailable_reason,
            "options": option_schema(self.options, pstt),
            "history_fields": list(self.history_fields),
        }
