"""The result reaches a real SMTP server as an attachment equal, row by row, to the table."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
import zoneinfo
from datetime import datetime
from typing import Any

import openpyxl

from tests.conftest import HomeBuilder

from .conftest import attachment_of, email_home


def source_rows(home: HomeBuilder) -> tuple[list[str], list[tuple[Any, ...]]]:
    con = sqlite3.connect(home.root / "demo.db")
    try:
        cur = con.execute("SELECT * FROM orders ORDER BY id")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def test_csv_attachment_matches_the_table_row_by_row(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, cc=["audit@example.com"], bcc=["hidden@example.com"],
               subject="{schedule_name}: {rows} rows on {run_time:%Y-%m-%d}")
    pstt = home.pstt()
    record = pstt.run("mail")
    assert record.status == "success", record.error
    assert len(server.mailbox.messages) == 1
    received = server.mailbox.messages[0]
    assert sorted(received.rcpt_tos) == ["audit@example.com", "hidden@example.com", "ops@example.com"]
    assert received.mail_from == "pstt@example.com"
    msg = received.message
    assert msg["Subject"].startswith("Orders report: 500 rows on 20")
    assert "hidden@example.com" not in received.data.decode("ascii")  # Bcc is envelope-only
    assert msg["From"].addresses[0].display_name == "PSTT reports"
    name, data = attachment_of(msg)
    assert name.startswith("mail_") and name.endswith(".csv")
    columns, rows = source_rows(home)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[0] == columns
    assert len(parsed) - 1 == len(rows) == 500
    for got, want in zip(parsed[1:], rows, strict=True):
        assert got == ["" if v is None else str(v) for v in want]
    # History fields of an e-mail run
    hist = pstt.history.get(record.export_id)
    assert hist is not None
    assert hist["recipients"] == 3
    assert hist["attachment_bytes"] == len(data)
    assert hist["message_id"] == msg["Message-ID"]
    assert hist["email_server"] == "mail"
    assert hist["rows"] == 500


def test_xlsx_attachment_matches_the_table_row_by_row(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, attachment_format="xlsx", attachment_name="orders-{date}")
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    name, data = attachment_of(server.mailbox.messages[0].message)
    assert name.endswith(".xlsx") and name.startswith("orders-")
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    got = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    columns, rows = source_rows(home)
    assert list(got[0]) == columns
    assert len(got) - 1 == 500
    when = columns.index("ordered_at")
    for g, want in zip(got[1:], rows, strict=True):
        # SQLite's ISO timestamp text is a date cell (wall time, offset left out)
        assert g[when] == datetime.fromisoformat(want[when]).replace(tzinfo=None)
        assert g[:when] + g[when + 1:] == tuple(want[:when] + want[when + 1:])


def test_large_attachment_is_zipped_and_still_complete(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, zip_above_bytes=1000)
    pstt = home.pstt()
    record = pstt.run("mail")
    assert record.status == "success", record.error
    name, data = attachment_of(server.mailbox.messages[0].message)
    assert name.endswith(".csv.zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == [name[:-4]]
        text = zf.read(name[:-4]).decode("utf-8")
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 501
    assert record.extra["attachment_bytes"] == len(data)
    assert record.extra["attachment_name"] == name


def test_size_limit_fails_the_run_and_sends_nothing(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, max_bytes=2000, zip_above_bytes=None)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "above the limit max_bytes=2,000" in (record.error or "")
    assert "nothing was sent" in (record.error or "")
    assert server.mailbox.messages == []
    assert record.extra["recipients"] == 0


def test_size_limit_applies_after_zipping(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, max_bytes=3000, zip_above_bytes=100)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "max_bytes=3,000" in (record.error or "")
    assert server.mailbox.messages == []


def test_empty_result_sent_with_header_only(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, on_empty="send")
    home.schedules[0]["query"] = "SELECT * FROM orders WHERE id < 0"
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    assert record.rows == 0
    msg = server.mailbox.messages[0].message
    assert "0 rows" in msg["Subject"]
    _, data = attachment_of(msg)
    assert data.decode("utf-8").strip().split(",")[0] == "id"


def test_empty_result_skipped(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, on_empty="skip")
    home.schedules[0]["query"] = "SELECT * FROM orders WHERE id < 0"
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    assert server.mailbox.messages == []
    assert record.extra["email_skipped"] == "empty result"
    assert record.extra["recipients"] == 0


def test_html_preview_is_escaped_and_plain_text_kept(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, preview_rows=3, body="Hello <team> & co: {rows} rows")
    home.schedules[0]["query"] = (
        "SELECT 1 AS id, '<script>alert(1)</script>' AS \"<b>name</b>\" "
        "UNION ALL SELECT 2, 'Tom & \"Jerry\"' UNION ALL SELECT 3, 'x' UNION ALL SELECT 4, 'y'")
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    msg = server.mailbox.messages[0].message
    html = msg.get_body(preferencelist=("html",)).get_content()
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;name&lt;/b&gt;" in html
    assert "Tom &amp; &quot;Jerry&quot;" in html
    assert "Hello &lt;team&gt; &amp; co: 4 rows" in html
    assert "First 3 of 4 rows." in html and "<td style=\"padding:2px 6px\">y</td>" not in html
    assert plain.strip() == "Hello <team> & co: 4 rows"
    assert len(list(msg.iter_attachments())) == 1


def test_bcc_only_message_discloses_no_recipient(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, to=[], bcc=["a@example.com", "B@example.com", "a@EXAMPLE.com"],
               zip_above_bytes=0)
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    received = server.mailbox.messages[0]
    assert received.rcpt_tos == ["a@example.com", "B@example.com"]  # duplicates removed
    assert received.message["To"] == "undisclosed-recipients:;"
    assert b"a@example.com" not in received.data and b"B@example.com" not in received.data
    name, _ = attachment_of(received.message)
    assert name.endswith(".csv.zip")  # zip_above_bytes 0: always zipped
    assert record.extra["recipients"] == 2


def test_server_size_limit_is_a_clear_permanent_failure(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none", data_size_limit=10_000)
    email_home(home, server)
    record = home.pstt().run("mail")
    assert record.status == "failed"
    assert "the server accepts at most 10,000 (SIZE)" in (record.error or "")
    assert record.extra["email_attempts"] == 1
    assert server.mailbox.data_calls == 0


def test_templates_use_the_schedule_time_zone(home: HomeBuilder, smtp: Any) -> None:
    server = smtp("none")
    email_home(home, server, subject="{schedule_id} {run_time:%Y-%m-%d %H:%M} {timezone}",
               body="{rows:,} rows, export {export_id}, file {attachment_name}",
               attachment_name="{schedule_id}-{date}")
    home.schedules[0]["query"] = "SELECT 1 AS n UNION ALL SELECT 2"
    record = home.pstt().run("mail")
    assert record.status == "success", record.error
    rome = datetime.fromisoformat(record.started_at).astimezone(zoneinfo.ZoneInfo("Europe/Rome"))
    msg = server.mailbox.messages[0].message
    assert msg["Subject"] == f"mail {rome:%Y-%m-%d %H:%M} Europe/Rome"
    name = f"mail-{rome:%Y-%m-%d}.csv"
    assert msg.get_body(preferencelist=("plain",)).get_content().strip() == (
        f"2 rows, export {record.export_id}, file {name}")
    assert attachment_of(msg)[0] == name
