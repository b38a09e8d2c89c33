"""Kafka metrics: hourly buckets × topic × connection, the plugin's state document
(``exports/kafka_metrics.json``, named through ``register_state_file``).

Writes are batched: ``record()`` updates memory and writes the file at most every
``KAFKA_METRICS_FLUSH_INTERVAL_SEC`` (plus at run end and shutdown). Latency percentiles
come from a bounded reservoir of samples per cell, so the file stays small.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pstt_core import HistoryView, PluginState, StateFileError, check_fields, json_kind

if TYPE_CHECKING:
    from .publish import Publisher

log = logging.getLogger("pstt.kafka.metrics")
_COUNTERS = ("messages", "bytes", "failures", "latency_sum_ms", "latency_count", "busy_sec")
_FLOATS = ("latency_sum_ms", "busy_sec")
_NUMBER = (int, float)
# The top-level keys the service writes (others found in the file are kept as they are).
_WRITTEN = ("version", "updated_at", "retention_days", "totals", "totals_by_topic", "buckets")
_BUCKET_FIELDS: dict[str, tuple[type, ...]] = {
    "hour": (str,), "topic": (str,), "connection": (str,), "last_message_at": (str,),
    "latency_samples_ms": (list,), **{name: _NUMBER for name in _COUNTERS}}
_TOTAL_FIELDS: dict[str, tuple[type, ...]] = {
    "topic": (str,), "connection": (str,), "messages": (int,), "bytes": (int,),
    "failures": (int,)}


def validate_document(data: dict[str, Any], file: str) -> None:
    """``kafka_metrics.json``: ``{"buckets": [...], "totals_by_topic": [...], …}`` (the core
    has checked that it is an object; see ``StateFile.validate``)."""
    for name, fields, required in (("buckets", _BUCKET_FIELDS, ("hour", "topic", "connection")),
                                   ("totals_by_topic", _TOTAL_FIELDS, ("topic", "connection"))):
        items = data.get(name, [])
        if not isinstance(items, list):
            raise StateFileError(f"must be an array, not {json_kind(items)}", file=file,
                                 path=f"$.{name}")
        for i, item in enumerate(items):
            path = f"$.{name}[{i}]"
            if not isinstance(item, dict):
                raise StateFileError(f"must be an object, not {json_kind(item)}", file=file,
                                     path=path)
            for key in required:
                if item.get(key) is None:
                    raise StateFileError("is missing", file=file, path=f"{path}.{key}")
            check_fields(item, fields, file=file, path=path)
            if name == "buckets" and _parse(item["hour"]) is None:
                # retention would drop such a bucket: a partial keep, never done silently
                raise StateFileError("must be an ISO-8601 time (the start of an hour)",
                                     file=file, path=f"{path}.hour")
            samples = item.get("latency_samples_ms") or []
            for j, value in enumerate(samples):
                if isinstance(value, bool) or not isinstance(value, _NUMBER):
                    raise StateFileError(f"must be a number, not {json_kind(value)}", file=file,
                                         path=f"{path}.latency_samples_ms[{j}]")


def hour_of(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return round(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo), 3)


def _new_cell() -> dict[str, Any]:
    return {**dict.fromkeys(_COUNTERS, 0), "samples": [], "last_message_at": None}


# Upper bounds (seconds) of the delivery latency histogram: 1 ms to 30 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0)


class LatencyHistogram:
    """Cumulative-bucket histogram of latency samples given in milliseconds."""

    __slots__ = ("counts", "sum_sec", "count")

    def __init__(self) -> None:
        self.counts = [0] * len(LATENCY_BUCKETS)
        self.sum_sec = 0.0
        self.count = 0

    def add(self, samples_ms: Iterable[float]) -> None:
        for ms in samples_ms:
            sec = ms / 1000.0
            i = bisect.bisect_left(LATENCY_BUCKETS, sec)
            if i < len(self.counts):
                self.counts[i] += 1
            self.sum_sec += sec
            self.count += 1

    def buckets(self) -> list[tuple[str, float]]:
        """``(le, cumulative count)`` pairs, ``+Inf`` last, as Prometheus wants them."""
        out, running = [], 0
        for bound, n in zip(LATENCY_BUCKETS, self.counts, strict=True):
            running += n
            out.append((f"{bound:g}", float(running)))
        out.append(("+Inf", float(self.count)))
        return out


Cells = dict[tuple[str, str, str], dict[str, Any]]
Totals = dict[tuple[str, str], dict[str, Any]]
# How often the figures of other processes (stored in the document) are read again, at most.
REFRESH_SEC = 1.0


def _new_total() -> dict[str, Any]:
    return {"messages": 0, "bytes": 0, "failures": 0}


class KafkaMetricsService:
    """:param state: where the document is kept (``env.state`` of the Kafka plugin).

    Several processes share the document (``pstt serve`` twice on one home, a ``pstt run``
    from cron, instances sharing a state backend): each keeps only the figures it has not
    stored yet (``pending``) and a flush *adds* them to the stored document in one
    read-modify-write of the backend — it never writes its own copy over what others stored.
    What the queries show is the stored document (read again at most every
    :data:`REFRESH_SEC`) plus this process's pending figures.
    """

    def __init__(self, state: PluginState, *, retention_days: int = 30,
                 flush_interval: float = 30.0, samples: int = 1000):
        self.state = state
        self.retention_days = retention_days
        self.flush_interval = flush_interval
        self.sample_size = samples
        self.lock = threading.RLock()
        # the view: stored figures + pending ones
        self.cells: Cells = {}
        self.totals: Totals = {}
        # figures recorded here and not yet added to the stored document
        self.pending_cells: Cells = {}
        self.pending_totals: Totals = {}
        # (topic, connection) → delivery latency histogram of this process (sampled
        # deliveries, seconds)
        self.latency_hist: dict[tuple[str, str], LatencyHistogram] = {}
        self.dirty = False
        self._last_flush = time.monotonic()
        self._refreshed = 0.0
        self._load()

    # -- persistence -----------------------------------------------------------------
    def _load(self) -> None:
        """Read the document (validated by :func:`validate_document` as it is read); a
        damaged one raises ``StateFileError`` and is left untouched: nothing here may write
        over it."""
        self._view(self.state.read())

    def _view(self, data: dict[str, Any]) -> None:
        cells, totals, _foreign = self._parse(data)
        with self.lock:
            for key, delta in self.pending_cells.items():
                self._add_cell(cells.setdefault(key, _new_cell()), delta)
            for tkey, tdelta in self.pending_totals.items():
                _add_total(totals.setdefault(tkey, _new_total()), tdelta)
            self.cells, self.totals = cells, totals
            self._cleanup(self.cells)
            self._refreshed = time.monotonic()

    def refresh(self, *, force: bool = False) -> None:
        """Read what other processes stored (at most every :data:`REFRESH_SEC`)."""
        if not force and time.monotonic() - self._refreshed < REFRESH_SEC:
            return
        try:
            self._view(self.state.read())
        except (OSError, StateFileError) as exc:  # keep showing the last good view
            log.warning("could not read %s: %s", self.state.location, exc)
            self._refreshed = time.monotonic()

    def _parse(self, data: dict[str, Any]) -> tuple[Cells, Totals, dict[str, Any]]:
        foreign = {k: v for k, v in data.items() if k not in _WRITTEN}
        cells: Cells = {}
        for item in data.get("buckets", []):
            key = (str(item["hour"]), str(item["topic"]), str(item["connection"]))
            cell = _new_cell()
            for name in _COUNTERS:
                number = item.get(name) or 0
                cell[name] = float(number) if name in _FLOATS else int(number)
            cell["samples"] = [float(x) for x in item.get("latency_samples_ms", [])][:self.sample_size]
            cell["last_message_at"] = item.get("last_message_at")
            cells[key] = cell
        totals: Totals = {}
        for item in data.get("totals_by_topic", []):
            totals[(str(item["topic"]), str(item["connection"]))] = {
                "messages": int(item.get("messages") or 0), "bytes": int(item.get("bytes") or 0),
                "failures": int(item.get("failures") or 0)}
        return cells, totals, foreign

    def _document(self, cells: Cells, totals: Totals, foreign: dict[str, Any]) -> dict[str, Any]:
        buckets = []
        for (hour, topic, conn), cell in sorted(cells.items()):
            buckets.append({"hour": hour, "topic": topic, "connection": conn,
                            **{k: cell[k] for k in _COUNTERS},
                            "latency_samples_ms": [round(x, 3) for x in cell["samples"]],
                            "last_message_at": cell["last_message_at"]})
        by_topic = [{"topic": t, "connection": c, **v} for (t, c), v in sorted(totals.items())]
        return {**foreign, "version": 1, "updated_at": datetime.now(timezone.utc).isoformat(),
                "retention_days": self.retention_days, "totals": _grand_totals(totals),
                "totals_by_topic": by_topic, "buckets": buckets}

    def _grand_totals(self) -> dict[str, int]:
        return _grand_totals(self.totals)

    def flush(self) -> None:
        """Add the pending figures to the stored document (one locked read-modify-write)."""
        with self.lock:
            cells, totals = self.pending_cells, self.pending_totals
            self.pending_cells, self.pending_totals = {}, {}
            self.dirty = False
            self._last_flush = time.monotonic()

        def merge(doc: dict[str, Any]) -> dict[str, Any]:
            stored, stored_totals, foreign = self._parse(doc)
            for key, delta in cells.items():
                self._add_cell(stored.setdefault(key, _new_cell()), delta)
            for tkey, tdelta in totals.items():
                _add_total(stored_totals.setdefault(tkey, _new_total()), tdelta)
            self._cleanup(stored)
            return self._document(stored, stored_totals, foreign)

        try:
            stored = self.state.modify(merge)
        except (OSError, StateFileError) as exc:  # kept for the next flush, never dropped
            log.error("could not write %s (the figures are kept for the next try): %s",
                      self.state.location, exc)
            with self.lock:
                for key, delta in cells.items():
                    self._add_cell(self.pending_cells.setdefault(key, _new_cell()), delta)
                for tkey, tdelta in totals.items():
                    _add_total(self.pending_totals.setdefault(tkey, _new_total()), tdelta)
                self.dirty = True
            return
        self._view(stored)

    def flush_due(self) -> bool:
        return self.dirty and time.monotonic() - self._last_flush >= self.flush_interval

    def maybe_flush(self) -> None:
        if self.flush_due():
            self.flush()

    def close(self) -> None:
        if self.dirty:
            self.flush()

    def _cleanup(self, cells: Cells) -> None:
        limit = hour_of(datetime.now(timezone.utc) - timedelta(days=self.retention_days))
        for key in [k for k in cells if _parse(k[0]) is None or _parse(k[0]) < limit]:  # type: ignore[operator]
            del cells[key]

    def _add_cell(self, cell: dict[str, Any], delta: dict[str, Any]) -> None:
        """Add ``delta``'s counters and samples to ``cell``."""
        self._merge_samples(cell["samples"], list(delta["samples"]), cell["latency_count"],
                            delta["latency_count"])
        for name in _COUNTERS:
            cell[name] += delta[name]
        if delta["last_message_at"] and (cell["last_message_at"] is None or
                                         delta["last_message_at"] > cell["last_message_at"]):
            cell["last_message_at"] = delta["last_message_at"]

    # -- recording -------------------------------------------------------------------
    def record(self, connection: str, topic: str, *, messages: int = 0, bytes: int = 0,
               failures: int = 0, latency_sum_ms: float = 0.0, latency_count: int = 0,
               samples: Iterable[float] = (), busy_sec: float = 0.0,
               at: datetime | None = None, flush: bool = True) -> None:
        """Add one run's (or one send's) figures to the current hour's cell; the file is
        written when the flush interval has passed (unless ``flush`` is false)."""
        at = at or datetime.now(timezone.utc)
        key = (hour_of(at).isoformat(), topic, connection)
        sampled = list(samples)
        delta = {"messages": messages, "bytes": bytes, "failures": failures,
                 "latency_sum_ms": latency_sum_ms, "latency_count": latency_count,
                 "busy_sec": busy_sec, "samples": sampled,
                 "last_message_at": at.astimezone(timezone.utc).isoformat() if messages else None}
        total = {"messages": messages, "bytes": bytes, "failures": failures}
        with self.lock:
            for cells, totals in ((self.cells, self.totals),
                                  (self.pending_cells, self.pending_totals)):
                self._add_cell(cells.setdefault(key, _new_cell()), delta)
                _add_total(totals.setdefault((topic, connection), _new_total()), total)
            if sampled:
                self.latency_hist.setdefault((topic, connection), LatencyHistogram()).add(sampled)
            self.dirty = True
        if flush:
            self.maybe_flush()

    def record_publisher(self, connection: str, pub: Publisher) -> None:
        """Add a finished publisher's figures."""
        self.record(connection, pub.topic, messages=pub.sent, bytes=pub.sent_bytes,
                    failures=pub.failed, latency_sum_ms=pub.latency_sum_ms,
                    latency_count=pub.latency_count, samples=pub.samples,
                    busy_sec=pub.duration_sec)

    def _merge_samples(self, reservoir: list[float], new: list[float], seen: int, count: int) -> None:
        """Keep a uniform-ish sample: new samples stand for ``count`` deliveries."""
        if not new:
            return
        room = self.sample_size - len(reservoir)
        reservoir.extend(new[:room])
        rest = new[room:] if room > 0 else new
        if not rest:
            return
        weight = count / len(new) if new else 1.0
        for i, value in enumerate(rest):
            position = seen + (room + i) * weight
            if random.random() * max(position, 1) < self.sample_size:
                reservoir[random.randrange(self.sample_size)] = value

    # -- queries ---------------------------------------------------------------------
    def _window(self, hours: int) -> list[tuple[tuple[str, str, str], dict[str, Any]]]:
        self.refresh()
        since = hour_of(datetime.now(timezone.utc) - timedelta(hours=max(hours, 1) - 1))
        with self.lock:
            return [(k, dict(v, samples=list(v["samples"]))) for k, v in self.cells.items()
                    if (_parse(k[0]) or since) >= since]

    @staticmethod
    def _stats(cells: Iterable[dict[str, Any]]) -> dict[str, Any]:
        agg = dict.fromkeys(_COUNTERS, 0)
        samples: list[float] = []
        for cell in cells:
            for name in _COUNTERS:
                agg[name] += cell[name]
            samples.extend(cell["samples"])
        samples.sort()
        count = agg["latency_count"]
        return {"messages": agg["messages"], "bytes": agg["bytes"], "failures": agg["failures"],
                "latency_avg_ms": round(agg["latency_sum_ms"] / count, 3) if count else None,
                "latency_p50_ms": percentile(samples, 0.50),
                "latency_p95_ms": percentile(samples, 0.95),
                "latency_p99_ms": percentile(samples, 0.99),
                "throughput_msg_s": round(agg["messages"] / agg["busy_sec"], 1) if agg["busy_sec"] else 0.0}

    def summary(self, hours: int = 24) -> dict[str, Any]:
        window = self._window(hours)
        stats = self._stats(c for _, c in window)
        attempts = stats["messages"] + stats["failures"]
        stats.update({
            "hours": hours,
            "success_rate": round(100.0 * stats["messages"] / attempts, 2) if attempts else None,
            "topics": len({k[1] for k, _ in window}),
            "connections": len({k[2] for k, _ in window}),
            "all_time": self._grand_totals(),
        })
        return stats

    def hourly(self, hours: int = 24) -> list[dict[str, Any]]:
        """One entry per hour of the window, oldest first, empty hours included."""
        now = hour_of(datetime.now(timezone.utc))
        by_hour: dict[str, list[dict[str, Any]]] = {}
        for (hour, _t, _c), cell in self._window(hours):
            by_hour.setdefault(hour, []).append(cell)
        out = []
        for i in range(max(hours, 1) - 1, -1, -1):
            hour = (now - timedelta(hours=i)).isoformat()
            stats = self._stats(by_hour.get(hour, []))
            out.append({"hour": hour, **{k: v for k, v in stats.items()}})
        return out

    def topics(self, hours: int = 24) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (_h, topic, conn), cell in self._window(hours):
            groups.setdefault((topic, conn), []).append(cell)
        out = []
        for (topic, conn), cells in sorted(groups.items()):
            stats = self._stats(cells)
            last = max((c["last_message_at"] for c in cells if c["last_message_at"]), default=None)
            out.append({"topic": topic, "connection": conn, "messages": stats["messages"],
                        "bytes": stats["bytes"], "failures": stats["failures"],
                        "latency_avg_ms": stats["latency_avg_ms"],
                        "latency_p95_ms": stats["latency_p95_ms"],
                        "throughput_msg_s": stats["throughput_msg_s"], "last_message_at": last})
        return out

    def all_time(self) -> dict[tuple[str, str], dict[str, Any]]:
        self.refresh()
        with self.lock:
            return {k: dict(v) for k, v in self.totals.items()}


def _add_total(total: dict[str, Any], delta: dict[str, Any]) -> None:
    for name in ("messages", "bytes", "failures"):
        total[name] += delta.get(name, 0)


def _grand_totals(totals: Totals) -> dict[str, int]:
    out = {"messages": 0, "bytes": 0, "failures": 0}
    for v in totals.values():
        for k in out:
            out[k] += v.get(k, 0)
    return out


def _parse(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def history_summary(history: HistoryView, hours: int = 24) -> dict[str, Any]:
    """Kafka runs of the last ``hours`` from the run history (the plugin's view of it),
    whichever process ran them (``pstt serve``, ``pstt run`` from cron, another instance):
    the in-memory metrics only know this process's deliveries."""
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    total, runs = history.query(since=since, limit=None)
    by_status: dict[str, int] = {}
    sent = failed = 0
    for run in runs:
        by_status[str(run.get("status"))] = by_status.get(str(run.get("status")), 0) + 1
        sent += int(run.get("kafka_messages_sent") or 0)
        failed += int(run.get("kafka_messages_failed") or 0)
    attempts = sent + failed
    return {"hours": hours, "runs": total, "by_status": by_status, "messages_sent": sent,
            "messages_failed": failed,
            "success_rate": round(100.0 * sent / attempts, 2) if attempts else None}
