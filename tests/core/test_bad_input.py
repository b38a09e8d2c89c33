"""Bad input gives one precise error naming the file, the JSON path or variable, and why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pstt_core import ConfigError, Pstt
from tests.conftest import HomeBuilder, write_json
from tests.core.conftest import Recorder


def schedule_errors(home: HomeBuilder, **fields: Any) -> str:
    """The message for one schedule with ``fields`` replaced, as ``load()`` reports it."""
    home.add_schedule(id="bad", **{"sharing_mode": "recorder", **fields})
    valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert "bad" not in valid
    return str(invalid["bad"])


def sched_file(home: HomeBuilder) -> str:
    return str(home.root / "exports" / "schedules.json")


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"connection": "nope"}, "connection", "unknown database connection 'nope'; configured: demo"),
    ({"trigger": {"type": "cron", "expression": "61 * * * *"}}, "trigger.expression",
     "minute: 61 is out of range 0-59"),
    ({"trigger": {"type": "cron", "expression": "* * * *"}}, "trigger.expression",
     "cron expression '* * * *' must have 5 fields (minute hour day-of-month month day-of-week)"),
    ({"trigger": {"type": "cron"}}, "trigger.expression",
     "a cron trigger needs an expression, e.g. '*/5 * * * *'"),
    ({"trigger": {"type": "interval"}}, "trigger",
     "an interval trigger needs a period between 1 s and 366 days (seconds, minutes, hours, days)"),
    ({"trigger": {"type": "interval", "seconds": "often"}}, "trigger.seconds",
     "expected a whole number, got 'often'"),
    ({"trigger": {"type": "hourly"}}, "trigger.type", "'hourly' is not one of: cron, interval"),
    ({"timezone": "Mars/Olympus"}, "timezone",
     "unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Rome)"),
    ({"sink_options": {"delay": "slow"}}, "sink_options.delay", "expected a number, got 'slow'"),
    ({"sink_options": {"colour": "red"}}, "sink_options",
     "extra fields found (colour); known fields: label, delay, fail, count"),
    ({"enabled": "maybe"}, "enabled", "expected true or false, got 'maybe'"),
    ({"batch_size": 0}, "batch_size", "must be at least 1"),
    ({"query": "  "}, "query", "must not be empty"),
    ({"id": "../etc"}, "id", "must be 1-128 characters of letters, digits, '.', '_' or '-'"),
])
def test_bad_schedule_fields(home: HomeBuilder, recorder: Recorder, fields: dict[str, Any],
                             where: str, message: str) -> None:
    if fields.get("id"):  # the error is keyed by the bad id itself
        home.add_schedule(sharing_mode="recorder", **fields)
        _valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
        text = str(invalid[fields["id"]])
    else:
        text = schedule_errors(home, **fields)
    assert text == f"{sched_file(home)} at $.schedules[0].{where}: {message}"


def test_unknown_sharing_mode_lists_the_installed_ones(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="bad", sharing_mode="pigeon")
    pstt = home.pstt(logs=False, environ={})
    installed = ", ".join(sorted(pstt.registry.sinks))
    assert "recorder" in installed and "filesystem" in installed
    assert str(pstt.schedules.load()[1]["bad"]) == (
        f"{sched_file(home)} at $.schedules[0].sharing_mode: unknown sharing mode 'pigeon'; "
        f"installed: {installed}")


def test_bad_sink_option_reported_by_the_sink_validator(home: HomeBuilder) -> None:
    home.add_schedule(id="fs", sink_options={"directory": "../../etc"})
    _valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert str(invalid["fs"]).startswith(f"{sched_file(home)} at $.schedules[0].sink_options.directory: ")
    assert "escapes the export root" in str(invalid["fs"])


def test_malformed_json_names_line_and_column(home: HomeBuilder) -> None:
    home.write()
    (home.root / "connections.json").write_text('{"databases": [\n  {"name": "x",}\n]}')
    with pytest.raises(ConfigError) as err:
        Pstt(home.root, logs=False, environ={})
    assert str(err.value) == (f"{home.root / 'connections.json'}: invalid JSON: Expecting property "
                              "name enclosed in double quotes (line 2, column 16)")

    (home.root / "connections.json").write_text(json.dumps(home.connections))
    path = home.root / "exports" / "schedules.json"
    path.write_text('{"schedules": [\n\n   {"id": "a",, }]}')
    pstt = Pstt(home.root, logs=False, environ={})
    with pytest.raises(ConfigError) as err:
        pstt.schedules.load()
    assert str(err.value) == (f"{path}: invalid JSON: Expecting property name enclosed in double "
                              "quotes (line 3, column 15) (the file is left as it is; see "
                              "`pstt state repair`)")


def test_unknown_connection_of_a_run(home: HomeBuilder, recorder: Recorder) -> None:
    pstt = home.pstt(logs=False, environ={})
    with pytest.raises(ConfigError, match="unknown database connection 'dwh'; configured: demo"):
        pstt.config.database("dwh")


def test_missing_variable_names_the_json_path_and_the_variable(home: HomeBuilder) -> None:
    home.connections["databases"].append(
        {"name": "dwh", "driver": "postgresql", "host": "db1", "username": "etl",
         "password": "${DWH_PASSWORD}", "database": "dwh"})
    home.write()
    with pytest.raises(ConfigError) as err:
        Pstt(home.root, logs=False, environ={})
    assert str(err.value) == (f"{home.root / 'connections.json'} at $.databases[1].password: "
                              "environment variable ${DWH_PASSWORD} is not set (define it in the "
                              "environment or in .env)")


def test_variable_default_dotenv_and_environment_precedence(
        home: HomeBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    home.connections["databases"].append(
        {"name": "dwh", "url": "postgresql+psycopg://etl:${DWH_PASSWORD}@${DWH_HOST:-db1}:5432/dwh"})
    home.write()
    (home.root / ".env").write_text("DWH_PASSWORD=from-dotenv\n")
    pstt = Pstt(home.root, logs=False)
    assert pstt.config.databases["dwh"].url == "postgresql+psycopg://etl:from-dotenv@db1:5432/dwh"
    monkeypatch.setenv("DWH_PASSWORD", "from-env")
    monkeypatch.setenv("DWH_HOST", "db2")
    pstt = Pstt(home.root, logs=False)
    assert pstt.config.databases["dwh"].url == "postgresql+psycopg://etl:from-env@db2:5432/dwh"
    assert {"from-env", "db2"} <= pstt.config.secrets


@pytest.mark.parametrize(("name", "value", "message"), [
    ("PSTT_LOG_LEVEL", "loud", "PSTT_LOG_LEVEL='loud' is not allowed; use one of: debug, info, warning, error"),
    ("PSTT_PORT", "http", "PSTT_PORT='http' is not a whole number"),
    ("PSTT_PORT", "70000", "PSTT_PORT='70000' is above the maximum 65535"),
    ("PSTT_SCHEDULER_ENABLED", "perhaps", "PSTT_SCHEDULER_ENABLED='perhaps' is not a boolean; use true or false"),
    ("PSTT_HISTORY_MAX_RECORDS", "5", "PSTT_HISTORY_MAX_RECORDS='5' is below the minimum 10"),
])
def test_bad_setting_names_variable_and_allowed_values(home: HomeBuilder, name: str, value: str,
                                                       message: str) -> None:
    home.write()
    with pytest.raises(ConfigError) as err:
        Pstt(home.root, logs=False, environ={name: value})
    assert str(err.value) == f"environment: {message}"
    (home.root / ".env").write_text(f"{name}={value}\n")
    with pytest.raises(ConfigError) as err:
        Pstt(home.root, logs=False, environ={})
    assert str(err.value) == f"{home.root / '.env'}: {message}"


def test_sql_error_is_recorded_with_the_database_message(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="typo", query="SELECT * FROM ordrs", sharing_mode="recorder")
    pstt = home.pstt(logs=False, environ={})
    record = pstt.run("typo")
    assert record.status == "failed"
    assert record.error == "SQL error: OperationalError: no such table: ordrs"
    stored = pstt.history.get(record.export_id)
    assert stored is not None and stored["error"] == record.error


def test_postgres_sql_error_has_no_sqlalchemy_noise(home: HomeBuilder, recorder: Recorder,
                                                    pg_url: str) -> None:
    home.add_database("pg", pg_url)
    home.add_schedule(id="typo", connection="pg", query="SELEC 1", sharing_mode="recorder")
    record = home.pstt(logs=False, environ={}).run("typo")
    assert record.status == "failed"
    assert record.error is not None
    assert record.error.startswith('SQL error: SyntaxError: syntax error at or near "SELEC"')
    assert "sqlalche.me" not in record.error and "Background on this error" not in record.error
    assert "\n" not in record.error


@pytest.mark.parametrize(("url", "message"), [
    ("mssql+pyodbc://u:p@h/db", "database 'x': driver module 'pyodbc' is not installed "
                                "(install it with: pip install pyodbc)"),
    ("nosuch://u:p@h/db", "database 'x': unknown database dialect 'nosuch' in the url "
                          "(e.g. postgresql+psycopg, mysql+pymysql, sqlite)"),
])
def test_unusable_database_driver(home: HomeBuilder, recorder: Recorder, url: str,
                                  message: str) -> None:
    home.add_database("x", url)
    home.add_schedule(id="x", connection="x", sharing_mode="recorder")
    record = home.pstt(logs=False, environ={}).run("x")
    assert record.status == "failed"
    assert record.error == message


def test_invalid_schedule_does_not_stop_valid_ones_and_is_never_dropped(
        home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="broken", sharing_mode="recorder", connection="gone", note="by hand")
    home.add_schedule(id="fine", sharing_mode="recorder", query="SELECT 1 AS one")
    pstt = home.pstt(logs=False, environ={})
    valid, invalid = pstt.schedules.load()
    assert list(valid) == ["fine"] and list(invalid) == ["broken"]
    assert pstt.run("fine").status == "success"
    with pytest.raises(ConfigError, match=r"\$\.schedules\[0\]\.connection: unknown database"):
        pstt.run("broken")
    pstt.create_schedule({"id": "new", "name": "New", "connection": "demo", "query": "SELECT 2",
                          "trigger": {"type": "interval", "minutes": 5}, "sharing_mode": "recorder"})
    pstt.patch_schedule("fine", {"description": "edited"})
    pstt.delete_schedule("new")
    saved = json.loads((home.root / "exports" / "schedules.json").read_text())["schedules"]
    assert saved[0] == home.schedules[0]  # byte-for-byte what the user wrote, unknown field kept
    assert [s["id"] for s in saved] == ["broken", "fine"]


def test_schedules_top_level_must_be_a_list(home: HomeBuilder) -> None:
    home.write()
    write_json(home.root / "exports" / "schedules.json", {"schedules": {"id": "x"}})
    pstt = Pstt(home.root, logs=False, environ={})
    with pytest.raises(ConfigError) as err:
        pstt.schedules.load()
    assert str(err.value) == (f"{sched_file(home)} at $.schedules: 'schedules' must be a list, "
                              "not an object (the file is left as it is; see `pstt state repair`)")


def test_legacy_spellings_mean_the_same_options(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="modern", sharing_mode="recorder",
                      sink_options={"label": "orders", "delay": 0.0})
    home.add_schedule(id="flat", sharing_mode="recorder", rec_label="orders", rec_delay=0.0)
    home.add_schedule(id="nested", sharing_mode="recorder",
                      rec_config={"rec_label": "orders", "delay": 0.0})
    pstt = home.pstt(logs=False, environ={})
    valid, invalid = pstt.schedules.load()
    assert invalid == {}
    options = {sid: valid[sid].sink_options for sid in ("modern", "flat", "nested")}
    assert options["modern"] == options["flat"] == options["nested"] == {
        "label": "orders", "delay": 0.0, "fail": False, "count": 1}
    assert valid["flat"].extra == {} and valid["nested"].extra == {}
    for sid in ("flat", "nested"):
        assert pstt.run(sid).status == "success"
        assert recorder.last().options.label == "orders"
    created = pstt.create_schedule({"id": "api", "name": "Via API", "connection": "demo",
                                    "query": "SELECT 1", "trigger": {"type": "interval", "seconds": 60},
                                    "sharing_mode": "recorder", "rec_config": {"label": "x"}})
    assert created.sink_options["label"] == "x"
    saved = json.loads((home.root / "exports" / "schedules.json").read_text())["schedules"][-1]
    assert saved["sink_options"]["label"] == "x" and "rec_config" not in saved


def test_bad_legacy_value_is_reported_under_sink_options(home: HomeBuilder, recorder: Recorder) -> None:
    home.add_schedule(id="flat", sharing_mode="recorder", rec_delay="later")
    _valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert str(invalid["flat"]) == (f"{sched_file(home)} at $.schedules[0].sink_options.delay: "
                                    "expected a number, got 'later'")


def test_boolean_spellings_of_other_tools_mean_what_they_say(home: HomeBuilder,
                                                            recorder: Recorder) -> None:
    for i, (value, expected) in enumerate([("no", False), ("YES", True), (0, False), ("off", False)]):
        home.add_schedule(id=f"b{i}", sharing_mode="recorder", enabled=value)
        home.schedules[-1]["expected"] = expected
    valid, invalid = home.pstt(logs=False, environ={}).schedules.load()
    assert invalid == {}
    assert {sid: s.enabled for sid, s in valid.items()} == {
        f"b{i}": s["expected"] for i, s in enumerate(home.schedules)}


def test_text_fields_take_numbers_but_not_objects(home: HomeBuilder, recorder: Recorder) -> None:
    home.connections["databases"].append({"name": "num", "url": "sqlite:///n.db", "password": 12345})
    home.add_schedule(id="obj", sharing_mode="recorder", name={"text": "x"})
    pstt = home.pstt(logs=False, environ={})
    assert pstt.config.databases["num"].password == "12345"
    assert str(pstt.schedules.load()[1]["obj"]).endswith(
        "at $.schedules[0].name: expected a string, got {'text': 'x'}")
