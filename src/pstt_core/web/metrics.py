"""Prometheus ``/metrics`` with one ``CollectorRegistry`` per app (never the global one).

* ``pstt_schedule_runs_total{schedule,status}`` and ``pstt_schedule_rows_total{schedule}``
  come from ``exports/scheduler_metrics.json``, so they survive restarts.
* ``pstt_runs_total{sharing_mode,status}``, ``pstt_rows_exported_total{sharing_mode}`` and
  the ``pstt_run_duration_seconds{sharing_mode}`` histogram are fed by every finished run
  (the core's ``run_finished`` observer calls :meth:`RunMetrics.observe`).
* Plugins add collectors through ``register_metrics(register, pstt)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..history import parse_time
from ..models import FINISHED_STATUSES, RunRecord
from ..plugins import core_version
from ..staleness import stale_schedules

if TYPE_CHECKING:
    from ..facade import Pstt

log = logging.getLogger("pstt.web")
# No ``*_created`` series: they double the series count and no PSTT dashboard reads them.
disable_created_metrics()
BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class SchedulerCollector:
    """Reads the persisted scheduler counters at scrape time."""

    def __init__(self, pstt: Pstt):
        self.pstt = pstt

    def collect(self) -> Iterator[Metric]:
        data = self.pstt.scheduler_metrics.data()
        runs = CounterMetricFamily("pstt_schedule_runs", "Runs per schedule and status "
                                   "(exports/scheduler_metrics.json)", labels=["schedule", "status"])
        rows = CounterMetricFamily("pstt_schedule_rows", "Rows exported per schedule",
                                   labels=["schedule"])
        last_ok = GaugeMetricFamily("pstt_schedule_last_success_timestamp_seconds",
                                    "Start of the schedule's last successful run (Unix time)",
                                    labels=["schedule"])
        for sid, per in sorted(data["schedules"].items()):
            for status in FINISHED_STATUSES:
                runs.add_metric([sid, status], float(per.get(status, 0) or 0))
            rows.add_metric([sid], float(per.get("rows", 0) or 0))
            at = parse_time(per.get("last_success_at"))
            if at is not None:
                last_ok.add_metric([sid], at.timestamp())
        yield runs
        yield rows
        yield last_ok
        stale = GaugeMetricFamily("pstt_schedule_stale", "1 when the schedule's last success is "
                                  "older than its max_staleness_sec", labels=["schedule"])
        now_stale = stale_schedules(self.pstt)
        valid, _invalid = self.pstt.schedules.load()
        for sid, sched in sorted(valid.items()):
            if sched.max_staleness_sec:
                stale.add_metric([sid], 1.0 if sid in now_stale else 0.0)
        yield stale
        running = GaugeMetricFamily("pstt_scheduler_running", "1 when the scheduler is running")
        running.add_metric([], 1.0 if self.pstt.scheduler.running else 0.0)
        yield running
        active = GaugeMetricFamily("pstt_runs_in_progress", "Runs executing now")
        active.add_metric([], float(len(self.pstt.runner.running)))
        yield active
        up = GaugeMetricFamily("pstt_instance_up", "1 for each scheduler instance sharing this "
                               "state that is alive (heartbeat within PSTT_LEASE_TTL_SEC), 0 "
                               "for one seen in the last 7 days that is not", labels=["instance"])
        for entry in self.pstt.instances():
            up.add_metric([entry["instance"]], 1.0 if entry["alive"] else 0.0)
        yield up
        build = GaugeMetricFamily("pstt_build_info", "PSTT version (always 1)",
                                  labels=["version"])
        build.add_metric([core_version()], 1.0)
        yield build


class RunMetrics:
    """Live counters and the duration histogram of one app."""

    def __init__(self, registry: CollectorRegistry):
        self.runs = Counter("pstt_runs", "Finished runs by sharing mode and status",
                            ["sharing_mode", "status"], registry=registry)
        self.rows = Counter("pstt_rows_exported", "Rows delivered by sink (sharing mode)",
                            ["sharing_mode"], registry=registry)
        self.duration = Histogram("pstt_run_duration_seconds", "Run duration by sharing mode",
                                  ["sharing_mode"], buckets=BUCKETS, registry=registry)

    def observe(self, record: RunRecord) -> None:
        mode = record.sharing_mode or "unknown"
        self.runs.labels(mode, record.status).inc()
        if record.status in ("success", "partial"):
            self.rows.labels(mode).inc(record.rows or 0)
        if record.status != "skipped":
            self.duration.labels(mode).observe(record.duration_sec or 0.0)


def build_registry(pstt: Pstt) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SchedulerCollector(pstt))
    # the core's run_finished observer (builtin.py) feeds these live metrics
    pstt.run_metrics = RunMetrics(registry)

    def accept(plugin: str, collector: Any) -> None:
        try:
            registry.register(collector)
        except Exception as exc:  # duplicate metric names, not a collector …
            pstt.plugin_problems.append(f"plugin {plugin!r}: metrics collector refused: {exc}")

    pstt.hooks.collect("register_metrics", accept, pstt=pstt, env_for=pstt.plugin_env)
    return registry


async def metrics_endpoint(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(await run_in_threadpool(generate_latest, registry),
                    media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]
