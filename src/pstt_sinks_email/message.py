"""Building the MIME message: plain text, optional escaped HTML preview, the attachment."""

from __future__ import annotations

import html
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import IO, Any

from pstt_core import to_text, utcnow

from .addresses import check_header_text


def new_message(*, sender: Address, to: Sequence[Address], cc: Sequence[Address] = (),
                reply_to: Sequence[Address] = (), subject: str,
                export_id: str | None = None) -> EmailMessage:
    """Headers only; Bcc recipients are envelope-only and never appear in a header."""
    check_header_text(subject, "subject", "the subject")
    msg = EmailMessage()  # policy.default: headers are folded and encoded, never raw
    msg["From"] = sender
    if to:
        msg["To"] = list(to)
    else:
        msg["To"] = "undisclosed-recipients:;"
    if cc:
        msg["Cc"] = list(cc)
    if reply_to:
        msg["Reply-To"] = list(reply_to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=sender.domain or None)
    if export_id:
        msg["X-PSTT-Export-Id"] = export_id
    return msg


def preview_html(columns: Sequence[str], rows: Sequence[Sequence[Any]], total: int,
                 intro: str) -> str:
    """An HTML table of the first rows; every value is escaped (the data is not trusted)."""
    def cell(value: Any) -> str:
        return "" if value is None else html.escape(str(to_text(value)))

    head = "".join(f"<th style=\"text-align:left;border-bottom:1px solid #999;padding:2px 6px\">"
                   f"{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style=\"padding:2px 6px\">{cell(v)}</td>" for v in r)
                   + "</tr>" for r in rows)
    shown = f"First {len(rows)} of {total} rows." if total > len(rows) else f"{total} rows."
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                         for p in intro.split("\n\n") if p.strip())
    return (f"<!DOCTYPE html><html><body>{paragraphs}<p>{shown}</p>"
            f"<table style=\"border-collapse:collapse;font-family:sans-serif;font-size:12px\">"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")


def set_body(msg: EmailMessage, text: str, html_part: str | None) -> None:
    msg.set_content(text)
    if html_part is not None:
        msg.add_alternative(html_part, subtype="html")


def attach(msg: EmailMessage, fileobj: IO[bytes], name: str, media_type: str) -> None:
    maintype, _, subtype = media_type.partition("/")
    msg.add_attachment(fileobj.read(), maintype=maintype, subtype=subtype or "octet-stream",
                       filename=name)


def to_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, lines folded for SMTP."""
    return msg.as_bytes(policy=SMTP)
