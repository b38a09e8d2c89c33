"""Kafka figures for ``/metrics``: a custom collector reading the metrics service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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
        latency = GaugeMetricFamily("pstt_kafka_delivery_latency_ms",
                                    "Delivery latency over the last hour", labels=[*labels, "quantile"])
        for row in metrics.topics(hours=1):
            for q, field in (("0.95", "latency_p95_ms"),):
                if row[field] is not None:
                    latency.add_metric([row["topic"], row["connection"], q], row[field])
        yield sent
        yield size
        yield failed
        yield latency
