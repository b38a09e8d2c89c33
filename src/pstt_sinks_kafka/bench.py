"""``pstt kafka bench``: single, batch and mixed publishing with latency percentiles."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from pstt_core import PluginEnv

from .gateway import KafkaGateway
from .metrics import percentile
from .runtime import KafkaRuntime, runtime


def _payload(size: int) -> str:
    return os.urandom(max(1, size) // 2 + 1).hex()[:max(1, size)]


async def _singles(service: KafkaGateway, connection: str, topic: str, n: int, size: int) -> dict[str, Any]:
    latencies: list[float] = []
    failed = 0
    value = _payload(size)
    t0 = time.perf_counter()
    for i in range(n):
        res = await service.send(connection, topic, value, key=str(i))
        if res["success"]:
            latencies.append(res["latency_ms"])
        else:
            failed += 1
    return {"sent": len(latencies), "failed": failed, "seconds": time.perf_counter() - t0,
            "latencies": latencies}


def _batch(service: KafkaRuntime, connection: str, topic: str, n: int, size: int,
           batch_size: int | None) -> dict[str, Any]:
    value = _payload(size).encode()
    pub = service.pool.publisher(connection, topic, batch_size)
    pub.sample_size = max(pub.sample_size, n)  # every latency, for exact percentiles
    pub.add_many([value] * n, [str(i).encode() for i in range(n)])
    pub.wait()
    service.metrics.record_publisher(connection, pub)
    return {"sent": pub.sent, "failed": pub.failed, "seconds": pub.duration_sec,
            "latencies": list(pub.samples)}


def _lines(label: str, res: dict[str, Any]) -> list[str]:
    lat = sorted(res["latencies"])
    avg = sum(lat) / len(lat) if lat else 0.0
    rate = res["sent"] / res["seconds"] if res["seconds"] else 0.0

    def fmt(q: float) -> str:
        value = percentile(lat, q)
        return "-" if value is None else f"{value:.2f}"

    return [f"{label}: sent {res['sent']}, failed {res['failed']} in {res['seconds']:.3f} s "
            f"→ {rate:,.0f} msg/s",
            f"  latency ms: avg {avg:.2f}  p50 {fmt(0.5)}  p90 {fmt(0.9)}  p99 {fmt(0.99)}"]


async def run_bench(env: PluginEnv, connection: str, topic: str, mode: str, n: int, size: int,
                    batch_size: int | None = None) -> dict[str, Any]:
    service = runtime(env)  # closed with the facade when the command ends
    service.pool.connection(connection)
    lines = [f"pstt kafka bench: mode {mode}, {n} message(s) of {size} bytes to {topic!r} "
             f"on {connection!r}"]
    failed = 0
    if mode == "single":
        res = await _singles(service.gateway, connection, topic, n, size)
        lines += _lines("single", res)
        failed += res["failed"]
    elif mode == "batch":
        res = await asyncio.to_thread(_batch, service, connection, topic, n, size, batch_size)
        lines += _lines("batch", res)
        failed += res["failed"]
    else:
        singles = max(1, n // 10)
        single_res, batch_res = await asyncio.gather(
            _singles(service.gateway, connection, topic, singles, size),
            asyncio.to_thread(_batch, service, connection, topic, n - singles, size, batch_size))
        lines += _lines("mixed/single", single_res) + _lines("mixed/batch", batch_res)
        failed += single_res["failed"] + batch_res["failed"]
    return {"lines": lines, "failed": failed}
