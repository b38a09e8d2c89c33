"""Options of the e-mail sink (``sink_options``) and their validation at save time."""

from __future__ import annotations

from typing import Annotated

import attrs

from pstt_core import (
    CSV_LOCALES,
    DECIMAL_SEPARATORS,
    LOCALE_HELP,
    ConfigError,
    FormatOptions,
    ListFromText,
    NotFoundError,
    PluginEnv,
)

from .addresses import check_header_text, parse_list, split_setting
from .servers import SECTION, get_server
from .templates import PLACEHOLDERS, render, sample_values

# A form or a hand-written file may give "a@x.example, b@y.example" for a list: it is split
# (quote-aware) instead of becoming a list of single characters.
Addresses = Annotated[list[str], ListFromText(split_setting)]
ON_EMPTY = ("send", "skip")
DEFAULT_SUBJECT = "{schedule_name}: {rows} rows ({run_time:%Y-%m-%d %H:%M})"
DEFAULT_BODY = ("Result of the scheduled query \"{schedule_name}\" run at "
                "{run_time:%Y-%m-%d %H:%M} ({timezone}): {rows} rows, attached as "
                "{attachment_name}.\n\nExport id: {export_id}\n")
DEFAULT_NAME = "{schedule_id}_{run_time:%Y%m%d_%H%M%S}"
MAX_PREVIEW_ROWS = 500
_PLACES = "Placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS if p not in ("status", "error"))


@attrs.define
class EmailOptions:
    server: str = attrs.field(metadata={
        "label": "SMTP server", "choices_from": SECTION,
        "help": "Name of an entry of smtp_servers in connections.json"})
    to: Addresses = attrs.field(factory=list, metadata={
        "label": "To", "widget": "list", "help": "Recipients, one per line: a@b.example or "
                                                 "Name <a@b.example>"})
    cc: Addresses = attrs.field(factory=list, metadata={
        "label": "Cc", "widget": "list", "help": "Copy recipients, shown to everyone"})
    bcc: Addresses = attrs.field(factory=list, metadata={
        "label": "Bcc", "widget": "list", "help": "Receive the message without being shown"})
    reply_to: Addresses = attrs.field(factory=list, metadata={
        "label": "Reply-To", "widget": "list", "advanced": True,
        "help": "Where replies go (default: the server's from_address)"})
    subject: str = attrs.field(default=DEFAULT_SUBJECT, metadata={
        "label": "Subject template", "help": _PLACES + ". One line."})
    body: str = attrs.field(default=DEFAULT_BODY, metadata={
        "label": "Body template", "widget": "textarea", "help": _PLACES})
    attachment_format: str = attrs.field(default="csv", metadata={
        "label": "Attachment format", "choices_from": "formats", "widget": "select",
        "help": "csv and xlsx open in a spreadsheet; jsonl and parquet suit programs"})
    attachment_name: str = attrs.field(default=DEFAULT_NAME, metadata={
        "label": "Attachment name template",
        "help": "Without extension (added from the format). " + _PLACES.replace(
            ", {attachment_name}", "")})
    preview_rows: int = attrs.field(default=0, metadata={
        "label": "Preview rows", "widget": "number",
        "help": f"Show the first N rows as an HTML table in the message (0: no preview, "
                f"at most {MAX_PREVIEW_ROWS})"})
    zip_above_bytes: int | None = attrs.field(default=5_000_000, metadata={
        "label": "Zip above (bytes)", "widget": "number",
        "help": "Put the attachment in a .zip when larger than this (0: always; empty: never)"})
    max_bytes: int = attrs.field(default=20_000_000, metadata={
        "label": "Size limit (bytes)", "widget": "number",
        "help": "Fail the run instead of sending an attachment larger than this "
                "(after zipping)"})
    on_empty: str = attrs.field(default="send", metadata={
        "label": "When the result is empty", "choices": ON_EMPTY, "widget": "select",
        "help": "send: e-mail anyway (attachment with the header only); skip: send nothing"})
    failure_notice_to: Addresses = attrs.field(factory=list, metadata={
        "label": "Failure notice to", "widget": "list",
        "help": "Who is told when this schedule's run fails or is partial (in addition to "
                "PSTT_EMAIL_NOTIFY_TO)"})
    locale: str | None = attrs.field(default=None, metadata={
        "advanced": True, "label": "CSV locale preset", "choices": tuple(CSV_LOCALES),
        "help": LOCALE_HELP})
    delimiter: str = attrs.field(default=",", metadata={
        "advanced": True, "label": "CSV delimiter", "help": "One character, e.g. ; for Excel "
                                                            "in locales with decimal commas"})
    decimal_separator: str = attrs.field(default=".", metadata={
        "advanced": True, "label": "CSV decimal separator", "choices": DECIMAL_SEPARATORS,
        "help": "Decimal mark of floats and decimals; ',' needs delimiter ';'"})
    encoding: str = attrs.field(default="utf-8", metadata={
        "advanced": True, "label": "CSV encoding", "help": "utf-8-sig adds a BOM for Excel"})
    sheet_name: str = attrs.field(default="data", metadata={
        "advanced": True, "label": "XLSX sheet name", "help": "At most 31 characters"})
    iso_text_dates: bool = attrs.field(default=True, metadata={
        "advanced": True, "label": "XLSX dates from ISO text",
        "help": "A text column whose values are all ISO 8601 dates or timestamps becomes "
                "date cells"})


    def format_options(self) -> FormatOptions:
        return FormatOptions(delimiter=self.delimiter, encoding=self.encoding,
                             sheet_name=self.sheet_name, locale=self.locale,
                             decimal_separator=self.decimal_separator,
                             iso_text_dates=self.iso_text_dates)


def _check_template(template: str, field: str, *, one_line: bool) -> str:
    if one_line:
        check_header_text(template, field, "the subject")
    return render(template, sample_values(), field=field)


def validate_options(options: EmailOptions, env: PluginEnv) -> None:
    """Everything that can be checked before a run; errors name the option (JSON path)."""
    try:
        get_server(env, options.server)
    except NotFoundError as exc:
        raise ConfigError(str(exc), path="server") from None
    lists = {"to": options.to, "cc": options.cc, "bcc": options.bcc,
             "reply_to": options.reply_to, "failure_notice_to": options.failure_notice_to}
    for field, values in lists.items():
        parse_list(values, field)
    if not (options.to or options.cc or options.bcc):
        raise ConfigError("at least one recipient is needed in to, cc or bcc", path="to")
    subject = _check_template(options.subject, "subject", one_line=True)
    if not subject.strip():
        raise ConfigError("the subject renders to an empty text", path="subject")
    _check_template(options.body, "body", one_line=False)
    name = _check_template(options.attachment_name, "attachment_name", one_line=True)
    if not name.strip() or any(c in name for c in '/\\:*?"<>|'):
        raise ConfigError("the attachment name must not be empty nor contain / \\ : * ? \" < > |",
                          path="attachment_name")
    try:
        fmt = env.format(options.attachment_format)
    except ConfigError as exc:
        raise ConfigError(exc.message, path="attachment_format") from None
    fmt.check(options.format_options())
    if not 0 <= options.preview_rows <= MAX_PREVIEW_ROWS:
        raise ConfigError(f"must be between 0 and {MAX_PREVIEW_ROWS}", path="preview_rows")
    if options.zip_above_bytes is not None and options.zip_above_bytes < 0:
        raise ConfigError("must be 0 or more (or empty: never zip)", path="zip_above_bytes")
    if options.max_bytes < 1:
        raise ConfigError("must be a positive number of bytes", path="max_bytes")
    if options.on_empty not in ON_EMPTY:
        raise ConfigError(f"must be one of {', '.join(ON_EMPTY)}", path="on_empty")
    if len(options.delimiter) != 1:
        raise ConfigError("must be a single character", path="delimiter")
    try:
        "x".encode(options.encoding)
    except LookupError:
        raise ConfigError(f"unknown encoding {options.encoding!r}", path="encoding") from None
