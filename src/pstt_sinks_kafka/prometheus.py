"""Kafka figures for ``/metrics``: a custom collector reading the metrics service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from pstt_core import PluginEnv

from .models import SECTION


class KafkaCollector(Collector):
    def __init__(self, env: PluginEnv):
        self.env = env

    def collect(self) -> Iterator[Any]:
        if not self.env.section(SECTION):
            return
        from .runtime import runtime

        metrics = runtime(self.env).metrics
        labels = ["topic", "connection"]
        sent = CounterMetricFamily("pstt_kafka_messages", "Messages acknowledged by Kafka", labels=labels)
        size = CounterMetricFamily("pstt_kafka_bytes", "Bytes of acknowledged messages", labels=labels)
        failed = CounterMetricFamily("pstt_kafka_failures", "Messages Kafka did not acknowledge",
                                     labels=labels)
        for (topic, conn), totals in sorted(metrics.all_time().items()):
            sent.add_metric([topic, conn], totals["messages"])
            size.add_metric([topic, conn], totals["bytes"])
            failed.add_metric([topic, conn], totals["failures"])
        histogram = HistogramMetricFamily(
            "pstt_kafka_delivery_latency_seconds",
            "Delivery latency (produce to acknowledgement) of sampled deliveries, seconds, "
            "since this process started", labels=labels)
        with metrics.lock:
            hists = sorted((k, h.buckets(), h.sum_sec) for k, h in metrics.latency_hist.items())
        for (topic, conn), buckets, total in hists:
            histogram.add_metric([topic, conn], buckets, total)
        # Deprecated (removed in 1.3): the 1.1 name, without its reserved "quantile" label.
        p95 = GaugeMetricFamily("pstt_kafka_delivery_latency_ms",
                                "Deprecated, use pstt_kafka_delivery_latency_seconds: p95 "
                                "delivery latency over the last hour, ms", labels=labels)
        for row in metrics.topics(hours=1):
            if row["latency_p95_ms"] is not None:
                p95.add_metric([row["topic"], row["connection"]], row["latency_p95_ms"])
        yield sent
        yield size
        yield failed
        yield histogram
        yield p95
