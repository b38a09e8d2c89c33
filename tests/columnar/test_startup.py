"""``pstt run`` imports what the run needs: no web stack, no client library of an unused sink,
no pyarrow compute kernels for a CSV export whose columns need none."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import HomeBuilder, cli_env

PROBE = """\
import json, sys
from pstt_core.cli import main
sys.argv = ["pstt", "--home", sys.argv[1], "run", sys.argv[2], "--no-progress"]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if "." not in m)}))
"""
NOT_FOR_A_CSV_RUN = {"starlette", "uvicorn", "jinja2", "confluent_kafka", "aiosmtplib",
                     "xlsxwriter", "prometheus_client", "pandas", "httpx"}


def loaded(home: HomeBuilder, schedule_id: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, str(home.write()), schedule_id],
                          capture_output=True, text=True, env=cli_env(), timeout=120, check=False)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] in (0, None), proc.stderr
    return set(out["modules"])


def test_a_csv_run_loads_no_web_stack_and_no_unused_sink_client(home: HomeBuilder) -> None:
    home.add_schedule(id="ten", query="SELECT * FROM orders LIMIT 10",
                      sink_options={"filename": "ten_{export_id}.csv"})
    modules = loaded(home, "ten")
    assert "pyarrow" in modules  # the columnar path served it
    assert not modules & NOT_FOR_A_CSV_RUN, modules & NOT_FOR_A_CSV_RUN
    # a plain SQLite file read by the columnar path needs no engine, URL or text() clause
    assert "sqlalchemy" not in modules
    import_compute = subprocess.run(
        [sys.executable, "-c", PROBE.replace("sorted(m for m in sys.modules if \".\" not in m)",
                                             "sorted(sys.modules)"),
         str(home.root), "ten"], capture_output=True, text=True, env=cli_env(), timeout=120,
        check=False)
    all_modules = json.loads(import_compute.stdout.strip().splitlines()[-1])["modules"]
    assert "pyarrow.compute" not in all_modules and "pyarrow.dataset" not in all_modules
    # APScheduler's schedulers scan every installed entry point when imported; the e-mail
    # plugin's message and SMTP modules are for runs that send e-mail
    assert not {"apscheduler.schedulers.base", "pstt_sinks_email.smtp", "pstt_sinks_email.sink",
                "pstt_sinks_email.message"} & set(all_modules)


def test_a_run_the_row_path_serves_loads_sqlalchemy_when_it_needs_it(home: HomeBuilder) -> None:
    home.add_schedule(id="bound", query="SELECT id, :schedule_id AS sid FROM orders ORDER BY id LIMIT 3",
                      sink_options={"filename": "bound_{export_id}.csv"})
    modules = loaded(home, "bound")
    assert "sqlalchemy" in modules
    (out,) = (home.root / "exports").rglob("bound_*.csv")
    assert out.read_text(encoding="utf-8").splitlines()[1:] == ["1,bound", "2,bound", "3,bound"]


VERSION_PROBE = """\
import json, sys
from pstt_core.cli import main
sys.argv = ["pstt", "--version"]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_pstt_version_loads_no_database_layer() -> None:
    proc = subprocess.run([sys.executable, "-c", VERSION_PROBE], capture_output=True, text=True,
                          env=cli_env(), timeout=120, check=False)
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("pstt, version ")
    out = json.loads(lines[-1])
    assert out["code"] in (0, None), proc.stderr
    modules = set(out["modules"])
    heavy = {"sqlalchemy", "pyarrow", "apscheduler.schedulers.base", "pstt_core.facade",
             "pstt_core.pipeline", "asyncio"}
    assert not modules & heavy, modules & heavy
