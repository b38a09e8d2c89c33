"""Sharing mode ``kafka``: every row becomes one message; every delivery report is counted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pstt_core import ConfigError, RunInfo, RunStatus, Sink, SinkContext, SinkResult, to_text

from . import deadletter
from .arrow_messages import ArrowMessages, supported
from .encoding import encode_headers
from .failures import ClusterStalled, ready_publisher
from .models import KafkaExportConfig
from .publish import Publisher
from .rowjson import encode_json
from .runtime import runtime
from .settings import setting
from .transaction import Transaction, transactional_id

log = logging.getLogger("pstt.sinks.kafka")


def envelope(run: RunInfo, fields: Sequence[str]) -> tuple[bytes, bytes]:
    """What goes before and after a row's JSON for ``{"data": row, "metadata": {…}}``: the
    metadata is the same for every message of a run, so it is encoded once."""
    meta = encode_json(run.metadata(fields))
    return b'{"data":', b',"metadata":' + meta + b"}"


def run_status(total: int, sent: int, threshold: float) -> RunStatus:
    """``success`` without failures; ``partial`` at or above the threshold; else ``failed``."""
    if sent == total:
        return "success"
    rate = 100.0 * sent / total if total else 0.0
    return "partial" if rate >= threshold else "failed"


class KafkaSink(Sink):
    def __init__(self, ctx: SinkContext):
        super().__init__(ctx)
        self.options: KafkaExportConfig = ctx.options
        self.service = runtime(ctx.env)
        self.service.pool.connection(self.options.connection)
        self.pub: Publisher | None = None
        self.key_index: int | None = None
        self.headers = encode_headers(self.options.headers, "headers")
        self._prefix = self._suffix = b""
        self._recorded = False
        self._arrow: ArrowMessages | None = None
        self._pending: Any = None  # the batch being encoded (columnar path)
        self._dead_fields: dict[str, Any] | None = None
        self.tx: Transaction | None = None

    def open(self, columns: Sequence[str]) -> None:
        super().open(columns)
        key = self.options.key_field
        if key:
            if key not in self.columns:
                raise ConfigError(f"key_field {key!r} is not a column of the query result; "
                                  f"columns: {', '.join(self.columns)}", path="key_field")
            self.key_index = self.columns.index(key)
        if self.options.include_metadata:
            self._prefix, self._suffix = envelope(self.ctx.run, self.options.metadata_fields)
        pool, options = self.service.pool, self.options
        tx_id = (transactional_id(self.ctx.run.schedule.id)
                 if options.delivery == "transactional" else None)
        timeout = pool.setting("KAFKA_TIMEOUT_MS") / 1000.0
        self.pub = ready_publisher(
            lambda: pool.publisher(options.connection, options.topic, options.batch_size,
                                   options.compression_type, transactional_id=tx_id),
            options.topic, timeout)
        if tx_id:
            self.tx = Transaction(self.pub, timeout)
        if options.dead_letter:
            self.pub.dead = []

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.pub is not None
        if self.pub.stopped:  # the rows handed so far are all counted; read no more
            raise ClusterStalled(self.pub.stopped)
        cols, encode = self.columns, encode_json
        values = [encode(dict(zip(cols, row, strict=False))) for row in rows]
        if self._prefix:
            prefix, suffix = self._prefix, self._suffix
            values = [prefix + v + suffix for v in values]
        keys = None
        if self.key_index is not None:
            ki = self.key_index
            # Inline fast paths for the usual int and str keys; the rest via _key_bytes.
            keys = [k.encode("utf-8") if type(k) is str else
                    b"%d" % k if type(k) is int else _key_bytes(k)
                    for k in [row[ki] for row in rows]]
        self.pub.add_many(values, keys, self.headers)

    def accepts_arrow(self, schema: Any) -> bool:
        return schema is None or all(supported(f.type) for f in schema)

    def write_arrow(self, batch: Any) -> None:
        """The columnar path: JSON values and keys built column-wise, the same messages.

        A batch is encoded in a thread of its own (Arrow's kernels release the GIL) while the
        previous one is produced; the last one is produced by :meth:`close` (or :meth:`abort`:
        as on the row path, every row handed to the sink is produced)."""
        assert self.pub is not None
        if self.pub.stopped:  # as in write(): the rows handed so far are counted; read no more
            raise ClusterStalled(self.pub.stopped)
        if self._arrow is None:
            self._arrow = ArrowMessages(self.columns, self.key_index, self._prefix, self._suffix)
        pending, self._pending = self._pending, self._arrow.submit(batch)
        if pending is not None:
            self._produce(pending)

    def _produce(self, pending: Any) -> None:
        assert self.pub is not None
        values, keys = pending.result()
        self.pub.add_many(values, keys, self.headers)

    def _settle_pending(self) -> None:
        pending, self._pending = self._pending, None
        try:
            if pending is not None:
                self._produce(pending)
        finally:
            if self._arrow is not None:
                self._arrow.close()

    def _finish(self) -> dict[str, Any]:
        pub = self.pub
        assert pub is not None
        pub.wait()
        if not self._recorded:
            self._recorded = True
            self.service.metrics.record_publisher(self.options.connection, pub)
            self.service.metrics.flush()
        fields: dict[str, Any] = {
            "kafka_topic": pub.topic, "kafka_connection": self.options.connection,
            "kafka_messages_sent": pub.sent, "kafka_messages_failed": pub.failed,
            "kafka_duration_sec": round(pub.duration_sec, 3), "kafka_chunks": pub.chunks,
            "rows_delivered": pub.sent,  # one message per row
        }
        if pub.failed_chunks:
            fields["kafka_chunks_failed"] = len(pub.failed_chunks)
        if pub.errors:
            fields["kafka_error"] = pub.error_texts(1)[0]
        if self.options.dead_letter:
            fields.update(self._dead_letters(pub))
        return fields

    def _dead_letters(self, pub: Publisher) -> dict[str, Any]:
        """Keep the undelivered messages (once per run) where ``dead_letter`` says."""
        if self._dead_fields is not None:
            return self._dead_fields
        letters, option = list(pub.dead or []), self.options.dead_letter or {}
        fields: dict[str, Any] = {"kafka_dead_lettered": 0}
        if letters:
            run = self.ctx.run
            try:
                if option.get("file"):
                    where = deadletter.write_file(self.ctx.env, run.schedule.id, run.export_id,
                                                  pub.topic, letters)
                    fields.update(kafka_dead_lettered=len(letters), kafka_dead_letter=where)
                else:
                    conn = option.get("connection") or self.options.connection
                    sent, errors = deadletter.publish(self.service.pool, conn, option["topic"],
                                                      run.export_id, pub.topic, letters)
                    fields.update(kafka_dead_lettered=sent,
                                  kafka_dead_letter=f"{conn}:{option['topic']}")
                    if errors:
                        fields["kafka_dead_letter_error"] = "; ".join(errors)
            except Exception as exc:  # the run's outcome stands; say the letters are lost
                fields["kafka_dead_letter_error"] = f"{type(exc).__name__}: {exc}"
        self._dead_fields = fields
        return fields

    def close(self) -> SinkResult:
        self._settle_pending()
        fields = self._finish()
        pub = self.pub
        assert pub is not None
        if self.tx is not None:
            return self._close_transaction(fields)
        threshold = setting(self.ctx.env.settings, "KAFKA_SUCCESS_THRESHOLD")
        status = run_status(pub.produced, pub.sent, threshold)
        error = None
        if status != "success":
            rate = 100.0 * pub.sent / pub.produced if pub.produced else 0.0
            error = (f"{pub.failed} of {pub.produced} message(s) not delivered to "
                     f"{pub.topic!r} ({rate:.2f} % delivered, threshold {threshold:g} %): "
                     + "; ".join(pub.error_texts(3)))
            if pub.stopped:
                error += f"; {pub.stopped}"
            last = pub.handle.errors.since(pub.started_at)  # this run's, never a stale one
            if last and (not pub.stopped or last not in pub.stopped):
                error += f"; last client error: {last}"
        return SinkResult(status=status, error=error, fields=fields)

    def _close_transaction(self, fields: dict[str, Any]) -> SinkResult:
        """All or nothing: commit when every message is acknowledged, else abort."""
        assert self.tx is not None and self.pub is not None
        why = self.tx.commit()
        fields.update(self._transaction_fields())
        if why is None:
            return SinkResult(fields=fields)
        error = f"Kafka transaction aborted, nothing delivered to {self.pub.topic!r}: {why}"
        if self.pub.errors:
            error += ": " + "; ".join(self.pub.error_texts(3))
        return SinkResult(status="failed", error=error, fields=fields)

    def _transaction_fields(self) -> dict[str, Any]:
        """A run whose transaction was aborted delivered nothing a committed reader sees."""
        assert self.tx is not None and self.pub is not None
        fields: dict[str, Any] = {"kafka_transaction": self.tx.state,
                                  "kafka_transactional_id": transactional_id(
                                      self.ctx.run.schedule.id)}
        if self.tx.state != "committed":
            fields.update(kafka_messages_aborted=self.pub.sent, kafka_messages_sent=0,
                          rows_delivered=0)
        return fields

    def abort(self, error: BaseException) -> None:
        """The run failed elsewhere (e.g. the database, a gate, a signal): settle what was
        produced; in transactional mode abort the transaction."""
        try:
            self._settle_pending()
        except Exception:  # the batch could not be encoded: nothing more to produce
            log.exception("kafka sink: the last batch could not be produced")
        if self.pub is not None:
            self._abort_fields = self._finish()
            if self.tx is not None:
                self.tx.abort(str(error))
                self._abort_fields.update(self._transaction_fields())

    def progress_fields(self) -> dict[str, Any]:
        """Delivery reports counted so far (a lower bound of what is on the topic)."""
        pub = self.pub
        if pub is None:
            return {}
        return {"kafka_topic": pub.topic, "kafka_connection": self.options.connection,
                "kafka_messages_sent": pub.sent, "kafka_messages_failed": pub.failed,
                "rows_delivered": pub.sent}  # one message per row

    def partial_fields(self) -> dict[str, Any]:
        fields = getattr(self, "_abort_fields", None)
        if fields is None and self.pub is not None:
            fields = self._finish()
        return fields or {"kafka_topic": self.options.topic,
                          "kafka_connection": self.options.connection,
                          "kafka_messages_sent": 0, "kafka_messages_failed": 0,
                          "kafka_duration_sec": 0.0, "rows_delivered": 0}


def _key_bytes(value: Any) -> bytes | None:
    """A key as UTF-8 text: numbers and strings as written, other types as in the JSON value."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return value.encode("utf-8")
    if kind is int:
        return str(value).encode("ascii")
    return str(to_text(value)).encode("utf-8")
