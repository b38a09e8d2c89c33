"""Option schemas (web forms): ``choices_from`` turns a connection-name or format option into
a drop-down of what is configured / registered."""

from __future__ import annotations

import attrs

from pstt_core.web.forms import facade_choices, option_schema
from tests.conftest import HomeBuilder


@attrs.define
class _Options:
    database: str = attrs.field(metadata={"choices_from": "databases"})
    server: str = attrs.field(default="", metadata={"choices_from": "smtp_servers"})
    format: str = attrs.field(default="csv", metadata={"choices_from": "formats"})
    note: str = ""


def test_choices_from_lists_configured_names(home: HomeBuilder) -> None:
    home.add_database("warehouse", "sqlite:///w.db")
    home.connections["smtp_servers"] = [{"name": "relay", "host": "127.0.0.1", "port": 25,
                                         "from_address": "pstt@example.com"}]
    pstt = home.pstt()
    fields = {f["name"]: f for f in option_schema(_Options, facade_choices(pstt))}
    assert fields["database"]["choices"] == ["demo", "warehouse"]
    assert fields["database"]["widget"] == "select"
    assert fields["server"]["choices"] == ["relay"]
    assert fields["format"]["choices"] == ["csv", "jsonl", "parquet", "xlsx"]
    assert fields["note"]["widget"] == "text"


def test_without_configured_entries_the_field_stays_text(home: HomeBuilder) -> None:
    pstt = home.pstt()
    fields = {f["name"]: f for f in option_schema(_Options, facade_choices(pstt))}
    assert fields["server"]["choices"] == []
    assert fields["server"]["widget"] == "text"
    # Without a facade (API consumers describing the class alone) nothing is resolved.
    assert option_schema(_Options)[0]["choices"] == []
