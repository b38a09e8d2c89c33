"""The Kafka plugin's runtime for one facade: connections, metrics, the producer pool (export
path) and the HTTP gateway. It is an ``env.state`` resource: made on first use — by a run,
the API, a health check, a metrics scrape or a command — and closed by ``Pstt.close()``."""

from __future__ import annotations

from typing import Any

from pstt_core import PluginEnv

from .gateway import KafkaGateway
from .metrics import KafkaMetricsService
from .models import SECTION
from .pool import ProducerPool
from .settings import setting

_RESOURCE = "runtime"


class KafkaRuntime:
    def __init__(self, env: PluginEnv):
        self.env = env
        self.settings = env.settings
        self.metrics = KafkaMetricsService(
            env.state, retention_days=self.setting("KAFKA_METRICS_RETENTION_DAYS"),
            flush_interval=self.setting("KAFKA_METRICS_FLUSH_INTERVAL_SEC"),
            samples=self.setting("KAFKA_METRICS_LATENCY_SAMPLES"))
        self.pool = ProducerPool(env.section(SECTION), env.settings)
        self.gateway = KafkaGateway(self.pool, self.metrics, self.last_runs)

    def setting(self, name: str) -> Any:
        return setting(self.settings, name)

    def last_runs(self, scan: int = 200) -> dict[str, dict[str, Any]]:
        """The newest run record of each Kafka connection (among the last ``scan`` runs)."""
        newest: dict[str, dict[str, Any]] = {}
        for rec in self.env.history.query(limit=scan)[1]:
            name = rec.get("kafka_connection")
            if isinstance(name, str) and name not in newest and rec.get("status") != "skipped":
                newest[name] = rec
        return newest

    def masked_connections(self) -> list[dict[str, Any]]:
        return self.env.masked_section(SECTION)

    def close(self) -> None:
        """Flush and close every producer, then write the metrics."""
        self.pool.close()
        self.metrics.close()


def runtime(env: PluginEnv) -> KafkaRuntime:
    """The Kafka runtime of ``env``'s facade (closed by ``Pstt.close()``), following the
    facade's configuration when ``pstt serve`` re-read ``connections.json``."""
    rt: KafkaRuntime = env.state.resource(_RESOURCE, lambda: KafkaRuntime(env))
    rt.pool.follow(env.section(SECTION))
    return rt
