"""Latency of an authenticated ``GET /api/schedules`` while unauthenticated ``/api/health``
probes are in flight, against the same request with no probes (the baseline, same run).

``pstt serve`` runs as a separate process on a home whose second database never answers (a
local listener that accepts and stays silent, as a firewalled host does), so every run of
the health checks waits for that database's connect timeout. Printed: the median latency
unloaded and loaded, their ratio, and the threads of the server process.

    python benchmarks/health_probes.py [--probes 60] [--connect-timeout 3] [--samples 15]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import httpx  # noqa: E402

TOKEN = "bench-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def silent_listener() -> tuple[socket.socket, list[socket.socket]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def threads_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def timed(url: str) -> float:
    t0 = time.perf_counter()
    httpx.get(url, headers=AUTH, timeout=120).raise_for_status()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--connect-timeout", type=int, default=5)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()

    listener, held = silent_listener()
    home = Path(tempfile.mkdtemp(prefix="pstt-bench-health-"))
    silent = listener.getsockname()[1]
    (home / "connections.json").write_text(json.dumps({"databases": [
        {"name": "demo", "url": "sqlite:///demo.db", "create_if_missing": True},
        {"name": "warehouse", "url": f"postgresql+psycopg://etl:pw@127.0.0.1:{silent}/dwh",
         "options": {"connect_args": {"connect_timeout": args.connect_timeout}}}]}))
    (home / ".env").write_text(f"PSTT_API_TOKEN={TOKEN}\nPSTT_SCHEDULER_ENABLED=false\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSTT_", "KAFKA_"))}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    proc = subprocess.Popen([sys.executable, "-m", "pstt_core", "--home", str(home), "serve",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/health", timeout=60)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("pstt serve did not start") from None
                time.sleep(0.2)
        time.sleep(16)  # let the start-up probe's cached result expire
        for _ in range(3):
            timed(base + "/api/schedules")
        unloaded = [timed(base + "/api/schedules") for _ in range(args.samples)]
        idle_threads = threads_of(proc.pid)
        probes = [threading.Thread(target=lambda: httpx.get(base + "/api/health", timeout=120))
                  for _ in range(args.probes)]
        for t in probes:
            t.start()
        time.sleep(1.0)  # the probes' requests reach the server and wait for the database
        loaded = [timed(base + "/api/schedules") for _ in range(max(3, args.samples // 3))]
        busy_threads = threads_of(proc.pid)
        for t in probes:
            t.join()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        listener.close()
        for conn in held:
            conn.close()
    a, b = statistics.median(unloaded), statistics.median(loaded)
    print(f"authenticated GET /api/schedules, median of {len(unloaded)} / {len(loaded)}:")
    print(f"  no probes:                      {a:8.1f} ms   (server threads {idle_threads})")
    print(f"  {args.probes} health probes in flight:   {b:8.1f} ms   (server threads "
          f"{busy_threads})")
    print(f"  ratio loaded / unloaded:        {b / a:8.2f}")


if __name__ == "__main__":
    main()
