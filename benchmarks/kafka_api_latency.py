"""Latency of ``POST /api/kafka/send`` end to end: HTTP client → uvicorn → PSTT → broker ack.

Starts a real tansu broker and ``pstt serve`` (a separate process, as in production) on free
loopback ports, then sends single messages one after another over a keep-alive connection.
Two baselines are measured in the same run so the figures can be read as overheads:

- ``http floor``: ``GET /api/kafka/connections`` — the same HTTP stack, no broker round trip;
- ``bare producer``: confluent-kafka in this process, produce one message and wait for its
  delivery report — the broker round trip without HTTP or PSTT.

Release notes target: < 50 ms average per single message; aim: < 5 ms p50 on loopback.

    python benchmarks/kafka_api_latency.py [--requests 3000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.kafka_broker import start_broker  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def stats(samples_ms: list[float]) -> dict[str, float]:
    return {"avg": sum(samples_ms) / len(samples_ms), "p50": percentile(samples_ms, 0.50),
            "p90": percentile(samples_ms, 0.90), "p99": percentile(samples_ms, 0.99),
            "max": max(samples_ms)}


def timed(n: int, call: Callable[[int], None]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-c", "import sys; from pstt_core.cli import main; sys.exit(main())",
           "--home", str(home), "serve", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(home / "server.log", "wb"), start_new_session=True)


def wait_ready(client: object, url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get(url).status_code == 200:  # type: ignore[attr-defined]
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout} s")


def measure_api(home: Path, env: str, requests: int, warmup: int) -> tuple[list[float], list[float]]:
    """Serve ``home`` with ``env`` as its .env; time GET /connections and POST /send."""
    import httpx

    # Scheduler off: the service does nothing but answer the API.
    (home / ".env").write_text("PSTT_SCHEDULER_ENABLED=false\nPSTT_LOG_LEVEL=warning\n" + env)
    port = free_port()
    server = start_server(home, port)
    body = {"connection": "bench", "topic": "api-latency", "key": "k",
            "value": {"id": 1, "status": "new", "amount": "12.50"}, "headers": {"source": "bench"}}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_ready(client, "/api/kafka/health")

            def send(i: int) -> None:
                # A script, not a browser: no session cookie, hence no CSRF token needed.
                client.cookies.clear()
                resp = client.post("/api/kafka/send", json=body)
                if resp.status_code != 200 or not resp.json()["success"]:
                    raise RuntimeError(f"send {i} failed: {resp.status_code} {resp.text}")

            timed(warmup, send)
            floor = timed(requests, lambda i: (client.cookies.clear(),
                                               client.get("/api/kafka/connections")))
            return floor, timed(requests, send)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def measure_bare(bootstrap: str, linger_ms: int, requests: int, warmup: int) -> list[float]:
    """confluent-kafka in this process: produce one message, wait for its delivery report."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": linger_ms,
                         "enable.idempotence": True, "acks": "all", "log_level": 0})
    payload = json.dumps({"id": 1, "status": "new", "amount": "12.50"}).encode()

    def bare(i: int) -> None:
        done: list[object] = []
        producer.produce("api-latency-bare", payload, b"k", headers=[("source", b"bench")],
                         on_delivery=lambda err, msg: done.append(err))
        while not done:
            producer.poll(0.0005)
        if done[0] is not None:
            raise RuntimeError(f"bare produce {i} failed: {done[0]}")

    timed(warmup, bare)
    out = timed(requests, bare)
    producer.flush(10)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pstt-api-bench-"))
    broker = start_broker(work)
    home = work / "home"
    (home / "exports").mkdir(parents=True)
    (home / "connections.json").write_text(json.dumps({"databases": [], "kafka_connections": [
        {"name": "bench", "bootstrap_servers": [broker.bootstrap]}]}))
    n, w = args.requests, args.warmup
    try:
        floor, api_default = measure_api(home, "", n, w)
        _, api_linger0 = measure_api(home, "KAFKA_LINGER_MS=0\n", n, w)
        bare_default = measure_bare(broker.bootstrap, 5, n, w)
        bare_linger0 = measure_bare(broker.bootstrap, 0, n, w)
    finally:
        broker.stop()

    rows = [("POST /send (defaults, linger 5)", stats(api_default)),
            ("POST /send (KAFKA_LINGER_MS=0)", stats(api_linger0)),
            ("http floor (GET /connections)", stats(floor)),
            ("bare producer, linger 5", stats(bare_default)),
            ("bare producer, linger 0", stats(bare_linger0))]
    print(f"\n{n} sequential requests per row after {w} warm-up; keep-alive HTTP client, "
          "uvicorn in its own process, loopback tansu broker, acks=all, idempotence on\n")
    print(f"{'':34} {'avg':>8} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}   (ms)")
    for name, st in rows:
        print(f"{name:34} {st['avg']:8.2f} {st['p50']:8.2f} {st['p90']:8.2f} {st['p99']:8.2f} "
              f"{st['max']:8.2f}")
    d5, d0, fl, b5, b0 = (r[1] for r in rows)
    print(f"\nPSTT + HTTP overhead at p50 over the bare producer with the same linger: "
          f"{d5['p50'] - b5['p50']:.2f} ms (defaults), {d0['p50'] - b0['p50']:.2f} ms (linger 0); "
          f"HTTP floor alone {fl['p50']:.2f} ms")
    print(f"ratio /send p50 to bare p50: {d5['p50'] / b5['p50']:.2f}x (defaults), "
          f"{d0['p50'] / b0['p50']:.2f}x (linger 0)")
    for label, st in (("defaults", d5), ("KAFKA_LINGER_MS=0", d0)):
        print(f"{label}: release-notes avg < 50 ms {'met' if st['avg'] < 50 else 'MISSED'} "
              f"({st['avg']:.2f} ms); aim p50 < 5 ms {'met' if st['p50'] < 5 else 'missed'} "
              f"({st['p50']:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
