"""``pstt check``: validate configuration and schedules, test connections."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import ConfigError
from ..timefmt import format_time
from .context import EXIT_FAILED, EXIT_OK, echo_json, get_pstt

# Not reported by check: the scheduler does not run in this process (its schedules are
# listed above), the configuration was read just now (an error would have stopped us), and
# the state files and kept records are reported on their own lines.
_SKIPPED_CHECKS = ("scheduler", "configuration", "records")


def add_to(cli: click.Group) -> None:
    cli.add_command(check_cmd)


def check_report(pstt: Any, *, offline: bool) -> dict[str, Any]:
    """Everything ``check`` found. ``invalid`` has the shape of ``GET /api/schedules``,
    ``health`` that of ``GET /api/health``; ``ok`` is false when there is any problem."""
    problems: list[str] = [f"plugin problem: {p}" for p in pstt.plugin_problems]
    missing = [{"name": m.name, "path": m.path} for m in pstt.config.missing]
    problems += [f"{pstt.config.file} at {m['path']}: environment variable ${{{m['name']}}} "
                 "is not set" for m in missing]
    # runs of processes that ended mid-run become interrupted; kept records join the history
    recovered = [{"export_id": r.export_id, "schedule_id": r.schedule_id, "status": r.status,
                  "error": r.error} for r in pstt.recover_runs()]
    state_files = [{"file": exc.file, "path": exc.path, "error": exc.message, "text": str(exc)}
                   for exc in pstt.state_problems()]
    problems += [f"state file {bad['text']}" for bad in state_files]
    kept = [{k: r.get(k) for k in ("export_id", "schedule_id", "status", "kept_at", "reason")}
            for r in pstt.journal.kept()]
    problems += [f"run {r['export_id']} of {r['schedule_id']} ({r['status']}) is not in the "
                 f"history yet: kept in {r['kept_at']} ({r['reason']})" for r in kept]
    try:
        valid, invalid = pstt.schedules.load()
    except ConfigError:  # a damaged schedules.json: a state file problem, listed above
        valid, invalid = {}, {}
    invalid_list = [{"id": key, "error": exc.message, "path": exc.path}
                    for key, exc in invalid.items()]
    problems += [f"{key}: {exc}" for key, exc in invalid.items()]
    unavailable = []
    for sched in valid.values():
        try:
            pstt.registry.sink(sched.sharing_mode)
        except Exception as exc:
            unavailable.append({"id": sched.id, "error": str(exc)})
            problems.append(f"{sched.id}: {exc}")
    # without --offline the databases check says it, connecting
    missing_files = _missing_files(pstt) if offline else []
    problems += missing_files
    health = None
    skipped = None
    if offline:
        skipped = "--offline"
    elif missing:  # never connect with a ${VAR} left in a password
        skipped = "environment variables are not set"
    else:
        health = pstt.health()
        health["checks"] = [c for c in health["checks"] if c["name"] not in _SKIPPED_CHECKS]
        problems += [f"{c['name']}: {c['status']} {c['detail']}" for c in health["checks"]
                     if c["status"] not in ("healthy", "not_configured")]
    return {"ok": not problems, "home": str(pstt.home.root), "problems": problems,
            "state": pstt.state_summary(contact=not offline),
            "connections": {"file": pstt.config.file, "databases": len(pstt.config.databases),
                            "missing_variables": missing, "missing_files": missing_files},
            "recovered_runs": recovered, "state_file_errors": state_files,
            "records_not_written": kept,
            "schedules": {"valid": len(valid), "invalid": invalid_list,
                          "unavailable": unavailable},
            "health": health, "connection_tests_skipped": skipped}


def _missing_files(pstt: Any) -> list[str]:
    """SQLite files that do not exist: known without connecting to anything."""
    from ..databases import build_url, sqlite_existing_file

    out = []
    for db in pstt.config.databases.values():
        try:
            sqlite_existing_file(build_url(db, pstt.home.root), db)
        except ConfigError as exc:
            out.append(exc.message)
    return out


@click.command("check")
@click.option("--offline", is_flag=True, help="Validate files only; do not contact databases or brokers.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(offline: bool, as_json: bool) -> None:
    """Exit 0 when every file is valid and every connection answers."""
    pstt = get_pstt(lenient_env=True)
    report = check_report(pstt, offline=offline)
    if as_json:
        echo_json(report)
    else:
        _print(report, pstt)
    sys.exit(EXIT_OK if report["ok"] else EXIT_FAILED)


def _print(report: dict[str, Any], pstt: Any) -> None:
    click.echo(f"home: {report['home']}")
    state = report["state"]
    click.echo(f"state: {state['backend']} ({state['location']}); this instance: "
               f"{state['instance']}")
    for entry in state.get("instances", []):
        click.echo(f"  {'alive' if entry['alive'] else 'lost '} {entry['instance']} (last "
                   f"heartbeat {format_time(entry['last_heartbeat'], pstt.display_zone)})")
    conns = report["connections"]
    click.echo(f"connections.json: {conns['databases']} database(s)")
    for m in conns["missing_variables"]:
        click.echo(f"  ✗ {m['path']}: environment variable ${{{m['name']}}} is not set")
    for text in conns["missing_files"]:
        click.echo(f"  ✗ {text}")
    for problem in pstt.plugin_problems:
        click.echo(f"  ✗ plugin problem: {problem}")
    for run in report["recovered_runs"]:
        click.echo(f"  recovered run {run['export_id']} of {run['schedule_id']}: {run['status']}"
                   + (f" ({run['error']})" if run["error"] else ""))
    for bad in report["state_file_errors"]:
        click.echo(f"  ✗ state file {bad['text']}")
    for kept in report["records_not_written"]:
        click.echo(f"  ✗ run {kept['export_id']} of {kept['schedule_id']} ({kept['status']}) is "
                   f"not in the history yet: kept in {kept['kept_at']} ({kept['reason']})")
    scheds = report["schedules"]
    click.echo(f"schedules.json: {scheds['valid']} valid, {len(scheds['invalid'])} invalid")
    for bad in scheds["invalid"]:
        click.echo(f"  ✗ {bad['id']}: {bad['path']}: {bad['error']}")
    for bad in scheds["unavailable"]:
        click.echo(f"  ✗ {bad['id']}: {bad['error']}")
    if report["health"] is not None:
        for check in report["health"]["checks"]:
            mark = "✓" if check["status"] in ("healthy", "not_configured") else "✗"
            click.echo(f"  {mark} {check['name']}: {check['status']} {check['detail']}")
    elif report["connection_tests_skipped"] != "--offline":
        click.echo(f"connections not tested: {report['connection_tests_skipped']}")
    problems = report["problems"]
    click.echo("OK" if not problems else f"{len(problems)} problem(s)")
