"""File-name templates: placeholders, the schedule's time zone, errors at save time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pstt_core import ConfigError
from tests.sinks_fs.conftest import FsHome


def test_placeholders_render_in_the_schedules_time_zone(fs: FsHome) -> None:
    fs.schedule(timezone="Pacific/Kiritimati", filename="{schedule_id}-{schedule_name}-"
                "{run_time:%Y%m%d_%H%z}-{date}-{time}-{export_id}.{ext}")
    record = fs.run()
    assert record.status == "success", record.error
    local = datetime.fromisoformat(record.started_at).astimezone(ZoneInfo("Pacific/Kiritimati"))
    expected = (f"fs-schedule-fs-{local:%Y%m%d_%H}+1400-{local:%Y%m%d}-{local:%H%M%S}-"
                f"{record.export_id}.csv")
    assert record.extra["path"] == expected
    assert fs.files() == [expected]


def test_run_time_date_follows_the_time_zone_not_utc(fs: FsHome) -> None:
    fs.schedule("east", timezone="Pacific/Kiritimati", filename="e_{run_time:%Y%m%d}.csv")
    fs.schedule("west", timezone="Pacific/Pago_Pago", filename="w_{run_time:%Y%m%d}.csv")
    east, west = fs.run("east"), fs.run("west")
    started = datetime.fromisoformat(east.started_at)
    assert east.extra["path"] == f"e_{started.astimezone(ZoneInfo('Pacific/Kiritimati')):%Y%m%d}.csv"
    assert west.extra["path"] == f"w_{datetime.fromisoformat(west.started_at).astimezone(ZoneInfo('Pacific/Pago_Pago')):%Y%m%d}.csv"
    # UTC+14 and UTC-11 are 25 hours apart: the two dates always differ.
    assert east.extra["path"][2:] != west.extra["path"][2:]


def test_default_template(fs: FsHome) -> None:
    fs.schedule(format="jsonl")
    record = fs.run()
    assert record.extra["path"].startswith("fs_") and record.extra["path"].endswith(".jsonl")


def test_unknown_placeholder_is_refused_at_save_with_its_json_path(fs: FsHome) -> None:
    with pytest.raises(ConfigError) as err:
        fs.schedule(filename="{customer}_{date}.csv")
    assert err.value.path == "$.sink_options.filename"
    assert "unknown placeholder {customer}" in str(err.value)
    assert "{run_time}" in str(err.value)
    assert fs.pstt.schedules.all() == {}


@pytest.mark.parametrize(("template", "message"), [
    ("{run_time:%Y/%m}.csv", "path separator"),
    ("sub/{date}.csv", "path separator"),
    (".{date}.csv", "starts with '.'"),
    ("{0}.csv", "unknown placeholder {0}"),
    ("{run_time[0]}.csv", "bad file name template"),
    ("{run_time:%Y.csv", "bad file name template"),
    ("schedules.json", "PSTT state file"),
])
def test_bad_templates_are_refused_at_save(fs: FsHome, template: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        fs.schedule(filename=template)
    assert err.value.path == "$.sink_options.filename"


def test_bad_options_name_their_field(fs: FsHome) -> None:
    for options, field in [({"format": "xml"}, "format"), ({"delimiter": ";;"}, "delimiter"),
                           ({"encoding": "klingon"}, "encoding"), ({"keep_last": 0}, "keep_last"),
                           ({"format": "xlsx", "sheet_name": "a:b"}, "sheet_name"),
                           ({"quoting": "sometimes"}, "quoting")]:
        with pytest.raises(ConfigError) as err:
            fs.schedule(**options)
        assert err.value.path is not None and err.value.path.startswith("$.sink_options"), options
        assert field in err.value.path or field in str(err.value), (options, str(err.value))
