"""The e-mail sink: rows → attachment in a temp file → one message → SMTP with retries."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from pstt_core import PluginEnv, Sink, SinkContext, SinkResult

from .addresses import envelope, parse_list
from .attachment import Attachment
from .message import attach, new_message, preview_html, set_body, to_bytes
from .options import EmailOptions
from .servers import get_server
from .smtp import Delivery, SmtpFailure, deliver
from .templates import render, run_values


def retry_settings(env: PluginEnv) -> tuple[int, float]:
    return int(env.settings["PSTT_EMAIL_RETRIES"]), float(env.settings["PSTT_EMAIL_RETRY_BACKOFF_SEC"])


class EmailSink(Sink):
    def __init__(self, ctx: SinkContext):
        super().__init__(ctx)
        self.options: EmailOptions = ctx.options
        self.server = get_server(ctx.env, self.options.server)
        self.fmt = ctx.env.format(self.options.attachment_format)
        self.attachment: Attachment | None = None
        self.preview: list[Sequence[Any]] = []
        self.fields: dict[str, Any] = {"email_server": self.server.name, "recipients": 0}

    def open(self, columns: Sequence[str]) -> None:
        super().open(columns)
        o = self.options
        self.attachment = Attachment(self.fmt, self.columns, o.format_options(),
                                     max_bytes=o.max_bytes, zip_above=o.zip_above_bytes)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.attachment is not None
        room = self.options.preview_rows - len(self.preview)
        if room > 0:
            self.preview.extend(list(r) for r in rows[:room])
        self.attachment.write(rows)

    def close(self) -> SinkResult:
        assert self.attachment is not None
        try:
            return self._send()
        finally:
            self.attachment.close()

    def _send(self) -> SinkResult:
        assert self.attachment is not None
        rows = self.attachment.rows
        if rows == 0 and self.options.on_empty == "skip":
            self.attachment.writer.close()
            return SinkResult(fields={**self.fields, "email_skipped": "empty result"})
        msg, recipients = self._compose(rows)
        retries, backoff = retry_settings(self.ctx.env)
        try:
            delivery = deliver(self.server, self.server.sender().addr_spec, recipients,
                               to_bytes(msg), retries=retries, backoff=backoff)
        except SmtpFailure as exc:
            if not exc.delivered:
                self._record(exc.delivered, exc.refused, exc.attempts)
                raise
            delivery = Delivery(exc.delivered, exc.refused, exc.attempts)
            self.fields["rows_delivered"] = rows  # to the recipients that accepted it
            return self._partial(delivery, len(recipients), f"then: {exc}")
        if delivery.refused:
            self.fields["rows_delivered"] = rows
            refused = "; ".join(f"{r}: {why}" for r, why in delivery.refused.items())
            return self._partial(delivery, len(recipients), f"refused: {refused}")
        self._record(delivery.delivered, delivery.refused, delivery.attempts)
        return SinkResult(fields=self.fields)

    def _compose(self, rows: int) -> tuple[EmailMessage, list[str]]:
        """The message (attachment included) and its envelope recipients."""
        assert self.attachment is not None
        o, run = self.options, self.ctx.run
        values = run_values(run, rows=rows)
        stem = render(o.attachment_name, values, field="attachment_name")
        fileobj, name, media, size = self.attachment.finish(stem)
        self.fields.update(attachment_bytes=size, attachment_name=name)
        values["attachment_name"] = name
        body = render(o.body, values, field="body")
        to, cc, bcc = parse_list(o.to, "to"), parse_list(o.cc, "cc"), parse_list(o.bcc, "bcc")
        msg = new_message(sender=self.server.sender(), to=to, cc=cc,
                          reply_to=parse_list(o.reply_to, "reply_to"),
                          subject=render(o.subject, values, field="subject"),
                          export_id=run.export_id)
        self.fields["message_id"] = msg["Message-ID"]
        html_part = preview_html(self.columns, self.preview, rows, body) if o.preview_rows else None
        set_body(msg, body, html_part)
        attach(msg, fileobj, name, media)
        return msg, envelope([*to, *cc, *bcc])

    def _record(self, delivered: list[str], refused: dict[str, str], attempts: int) -> None:
        self.fields.update(recipients=len(delivered), email_attempts=attempts)
        if refused:
            self.fields["recipients_refused"] = refused

    def _partial(self, delivery: Delivery, total: int, detail: str) -> SinkResult:
        self._record(delivery.delivered, delivery.refused, delivery.attempts)
        return SinkResult(status="partial", fields=self.fields,
                          error=f"delivered to {len(delivery.delivered)} of {total} "
                                f"recipient(s); {detail}")

    def abort(self, error: BaseException) -> None:
        if self.attachment is not None:
            self.attachment.close()

    def partial_fields(self) -> dict[str, Any]:
        return dict(self.fields)
