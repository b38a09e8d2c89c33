"""The sink contract: what a sharing mode implements and how the pipeline drives it.

A run calls, in order: ``factory(ctx)`` → ``open(columns)`` → ``write(rows)`` for every
batch → ``close()`` which returns a :class:`SinkResult`. If anything fails after the sink
was created, ``abort(error)`` is called instead of ``close()`` so the sink can remove partial
output. Sinks are called from a worker thread, never from the event loop.

The columnar path (``pip install "pstt[fast]"``) hands a sink ``pyarrow.RecordBatch`` es
instead of rows when the sink says it takes them: ``accepts_arrow(None)`` is asked before
the query runs (do the options allow it?), ``accepts_arrow(schema)`` after it ran and before
``open``; if both answer true, every batch goes to ``write_arrow`` (never a mix of both in
one run). A sink that implements only ``write`` keeps working: the
default answer is false and its runs take the row path.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .converter import structure
from .models import RunInfo, RunStatus, Schedule
from .requires import unavailable_reason

if TYPE_CHECKING:
    from .plugin import PluginEnv


@attrs.define
class SinkResult:
    """What a sink reports when it closes.

    :param status: ``None`` lets the pipeline decide (``success``); a sink that delivered only
        part of the rows says ``partial`` or ``failed`` and gives ``error``.
    :param fields: extra history fields (``kafka_topic``, ``path``, ``recipients`` …).
    """

    status: RunStatus | None = None
    error: str | None = None
    fields: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class SinkContext:
    """Everything a sink may need for one run.

    :param options: the parsed ``sink_options`` (an instance of the sink type's options class).
    :param run: the run: ``export_id``, ``export_timestamp``, the schedule, ``metadata()``.
    :param env: the sink's plugin environment (settings, export root, formats, state …).
    """

    options: Any
    run: RunInfo
    env: PluginEnv
    _facade: Any = attrs.field(default=None, repr=False, alias="facade")

    @property
    def schedule(self) -> Schedule:
        return self.run.schedule

    @property
    def pstt(self) -> Any:
        """Deprecated (removed in 1.3): the whole facade. Use :attr:`env`."""
        warnings.warn("SinkContext.pstt is deprecated and will be removed in PSTT 1.3; use "
                      "ctx.env (pstt_core.PluginEnv)", DeprecationWarning, stacklevel=2)
        return self._facade


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

    def accepts_arrow(self, schema: Any) -> bool:
        """Whether this sink, with its options, takes batches of ``schema`` (a
        ``pyarrow.Schema``; ``None`` before the query runs: whether its options allow Arrow
        batches at all) through :meth:`write_arrow`. Must not do any I/O."""
        return False

    def write_arrow(self, batch: Any) -> None:
        """Take one ``pyarrow.RecordBatch`` (columns in ``columns`` order)."""
        raise NotImplementedError(f"{type(self).__name__} takes rows only")

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
    :param validate: ``validate(options, env)`` checks the options against configuration
        (e.g. that a named server exists) with the plugin's env and raises ``ConfigError``.
    :param history_fields: the extra history fields this sink writes, for pages.
    :param streams_rows: ``streams_rows(options)`` → why rows are visible as soon as they are
        written (so ``min_rows`` / ``max_rows`` cannot be checked before delivery, and are
        refused when a schedule is saved), or ``None`` when the sink publishes only in
        ``close()``. Omitted: the sink publishes in ``close()``.
    :param output_file: ``output_file(record, env)`` → the file a run wrote (an existing
        file inside the sink's own output directory) or ``None``; pages link it for
        download. Only files named by a history record can be reached this way.
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
    validate: Callable[[Any, PluginEnv], None] | None = None
    history_fields: tuple[str, ...] = ()
    output_file: Callable[[Mapping[str, Any], PluginEnv], Path | None] | None = None
    streams_rows: Callable[[Any], str | None] | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def unavailable_reason(self) -> str | None:
        return unavailable_reason(self.requires, self.install_hint)

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
