"""``pstt kafka …``: list connections, show settings, test one, benchmark publishing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from pstt_core import PluginEnv


def kafka_group(get_env: Callable[[], PluginEnv]) -> click.Group:
    """The ``pstt kafka`` group; ``get_env`` gives the plugin's env for ``--home``."""

    @click.group("kafka")
    def kafka() -> None:
        """Kafka clusters of connections.json: list, test, benchmark."""

    @kafka.command("connections")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (secrets masked).")
    def connections(as_json: bool) -> None:
        """List the configured Kafka connections (secrets masked)."""
        from .runtime import runtime

        rows = runtime(get_env()).masked_connections()
        if as_json:
            click.echo(json.dumps(rows, indent=2, default=str))
            return
        if not rows:
            click.echo("no kafka_connections in connections.json")
            return
        for row in rows:
            click.echo(f"{row['name']:<20} {row['security_protocol']:<15} "
                       f"{','.join(row['bootstrap_servers'])}  {row.get('description') or ''}")

    @kafka.command("settings")
    @click.option("--markdown", is_flag=True, help="Print the documentation table.")
    def settings(markdown: bool) -> None:
        """List the KAFKA_* settings: effective value, default, allowed values, meaning."""
        from .settings import KAFKA_SETTINGS, allowed

        if markdown:
            click.echo("| Variable | Default | Allowed | Description |")
            click.echo("|---|---|---|---|")
            for s in KAFKA_SETTINGS:
                click.echo(f"| `{s.name}` | `{s.default}` | {allowed(s)} | {s.description} |")
            return
        values = get_env().settings
        sources = getattr(values, "sources", {})
        for s in KAFKA_SETTINGS:
            source = sources.get(s.name, "default")
            click.echo(f"{s.name:<42} {values.get(s.name, s.default)!s:<18} "
                       f"({source}; {allowed(s)})")

    @kafka.command("test")
    @click.argument("connection")
    @click.option("--timeout-ms", type=int, default=None, help="Default: KAFKA_TEST_TIMEOUT_MS.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print what POST /api/kafka/test returns.")
    def test(connection: str, timeout_ms: int | None, as_json: bool) -> None:
        """Ask CONNECTION's cluster for metadata; exit 0 when it answers, 1 otherwise."""
        from .runtime import runtime

        result = runtime(get_env()).gateway.test_connection_sync(connection, timeout_ms)
        if as_json:
            click.echo(json.dumps(result, indent=2, default=str))
            sys.exit(0 if result["success"] else 1)
        if result["success"]:
            click.echo(f"ok: {connection} answered in {result['latency_ms']} ms; "
                       f"brokers: {', '.join(result['brokers'])}")
            return
        click.echo(f"failed: {connection}: {result['error']}", err=True)
        sys.exit(1)

    @kafka.command("bench")
    @click.option("--connection", required=True, help="A name from kafka_connections.")
    @click.option("--topic", required=True)
    @click.option("--mode", type=click.Choice(["single", "batch", "mixed"]), default="batch")
    @click.option("--messages", type=int, default=1000, show_default=True)
    @click.option("--size", type=int, default=256, show_default=True, help="Payload bytes.")
    @click.option("--batch-size", type=int, default=None,
                  help="Chunk size (default KAFKA_BATCH_SIZE).")
    def bench(connection: str, topic: str, mode: str, messages: int, size: int,
              batch_size: int | None) -> None:
        """Publish N messages and print latency avg/p50/p90/p99 and msg/s."""
        import asyncio  # for this command only: `pstt --version` and runs do without

        from .bench import run_bench

        report = asyncio.run(run_bench(get_env(), connection, topic, mode, messages, size,
                                       batch_size))
        for line in report["lines"]:
            click.echo(line)
        if report["failed"]:
            sys.exit(1)

    @kafka.command("replay")
    @click.argument("source")
    @click.option("--to", "target", required=True, metavar="CONNECTION:TOPIC",
                  help="Where to re-send the messages.")
    @click.option("--from", "from_connection", default=None, metavar="CONNECTION",
                  help="Connection of a SOURCE topic (default: the --to connection).")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    def replay(source: str, target: str, from_connection: str | None, as_json: bool) -> None:
        """Re-send dead letters: SOURCE is a dead-letter file (.jsonl) or topic."""
        from pathlib import Path

        from . import deadletter
        from .runtime import runtime

        conn, sep, topic = target.partition(":")
        if not sep or not conn or not topic:
            raise click.UsageError("--to must be CONNECTION:TOPIC")
        rt = runtime(get_env())
        path = Path(source)
        messages: Iterator[tuple[bytes | None, bytes | None, list[Any]]]
        if path.is_file():
            messages = (deadletter.from_json(line) for line in deadletter.read_file(path))
        else:
            messages = deadletter.read_topic(rt.pool, from_connection or conn, source,
                                             rt.setting("KAFKA_TIMEOUT_MS") / 1000.0)
        report = deadletter.replay(rt.pool, messages, conn, topic)
        rt.metrics.flush()
        if as_json:
            click.echo(json.dumps(report, indent=2))
        else:
            click.echo(f"replayed {report['sent']} of {report['read']} message(s) to "
                       f"{conn}:{topic}" + (f"; failed {report['failed']}: "
                                            + "; ".join(report["errors"])
                                            if report["failed"] else ""))
        sys.exit(0 if report["failed"] == 0 else 1)

    return kafka
