"""A bare install (no extras): the core and the filesystem sink work, the rest says what to install.

Every command runs ``pstt`` in a subprocess whose ``sitecustomize`` makes the optional
dependencies absent (``sys.modules[name] = None``: ``import`` raises ModuleNotFoundError and
``importlib.util.find_spec`` returns None), so this holds in a full development venv too.
``tox -e bare`` runs this file in a virtual environment installed without any extra.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BLOCKED = ("confluent_kafka", "aiosmtplib", "xlsxwriter", "pyarrow")
HINTS = {"kafka": 'pip install "pstt[kafka]"', "email": 'pip install "pstt[email]"'}

SITECUSTOMIZE = """\
import sys
for _name in {blocked!r}:
    sys.modules[_name] = None  # absent: import fails, importlib.util.find_spec() is None
"""

SINKS_SCRIPT = """\
import json, sys
from pstt_core import Pstt
pstt = Pstt(sys.argv[1], logs=False)
print(json.dumps([{"name": s.name, "requires": list(s.requires), "available": s.available,
                   "reason": s.unavailable_reason} for s in pstt.registry.sinks.values()]))
"""


@pytest.fixture
def bare(tmp_path: Path) -> Any:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=BLOCKED), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSTT_", "KAFKA_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    home = tmp_path / "home"

    def python(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)

    def pstt(*args: str) -> subprocess.CompletedProcess[str]:
        return python("-c", "import sys; from pstt_core.cli import main; sys.exit(main())",
                      "--home", str(home), *args)

    init = pstt("init", "--demo")
    assert init.returncode == 0, init.stderr
    return python, pstt, home


def test_optional_dependencies_are_really_absent(bare: Any) -> None:
    python, _pstt, _home = bare
    probe = python("-c", "import importlib.util, json; "
                         f"print(json.dumps([importlib.util.find_spec(m) is None for m in {BLOCKED!r}]))")
    assert json.loads(probe.stdout) == [True] * len(BLOCKED)
    for module in BLOCKED:
        assert python("-c", f"import {module}").returncode != 0


def test_demo_schedule_runs_to_csv(bare: Any) -> None:
    _python, pstt, home = bare
    result = pstt("run", "demo-orders-csv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("success: 5,000 rows")
    files = list((home / "exports" / "demo").glob("orders_*.csv"))
    assert len(files) == 1
    data = files[0].read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # utf-8-sig for Excel
    with open(files[0], newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))  # the demo's locale is excel-it
    assert rows[0][:3] == ["order_id", "ordered_at", "customer"] and len(rows) == 5001
    amount = rows[0].index("amount")
    assert any(re.fullmatch(r"\d+,\d+", r[amount]) for r in rows[1:])  # decimal commas


def test_sinks_whose_dependencies_are_missing_are_listed_unavailable(bare: Any) -> None:
    python, pstt, home = bare
    sinks = json.loads(python("-c", SINKS_SCRIPT, str(home)).stdout)
    by_name = {s["name"]: s for s in sinks}
    assert by_name["filesystem"]["available"] is True
    for sink in sinks:
        if set(sink["requires"]) & set(BLOCKED):
            assert sink["available"] is False, sink
            assert "pip install" in sink["reason"], sink
        if sink["name"] in HINTS:
            assert sink["available"] is False and HINTS[sink["name"]] in sink["reason"], sink
    listing = pstt("plugins")
    assert listing.returncode == 0, listing.stderr
    loaded = {line.split()[0]: line.split()[-1] for line in listing.stdout.splitlines()
              if line and not line.startswith(" ") and ":" not in line}
    # Every built-in plugin module imports without its client library.
    for plugin in ("filesystem", "kafka", "email"):
        assert loaded.get(plugin) == "loaded", listing.stdout
    modes = listing.stdout.split("sharing modes:", 1)[1].splitlines()
    for sink in sinks:
        line = next(line for line in modes if line.strip().startswith(sink["name"] + " "))
        if sink["available"]:
            assert line.rstrip().endswith("available"), line
        else:
            assert "unavailable" in line and "pip install" in line, line
    as_json = json.loads(pstt("plugins", "--json").stdout)
    assert {s["name"]: s["available"] for s in as_json["sinks"]} == \
        {s["name"]: s["available"] for s in sinks}


@pytest.mark.parametrize(("fmt", "extra"), [("xlsx", "xlsx"), ("parquet", "parquet")])
def test_formats_without_their_library_give_the_install_hint(bare: Any, fmt: str, extra: str) -> None:
    _python, pstt, home = bare
    path = home / "exports" / "schedules.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["schedules"].append({"id": f"to-{fmt}", "name": f"To {fmt}", "connection": "demo",
                              "query": "SELECT * FROM orders", "sharing_mode": "filesystem",
                              "trigger": {"type": "cron", "expression": "0 6 * * *"},
                              "sink_options": {"format": fmt}})
    path.write_text(json.dumps(data), encoding="utf-8")
    hint = f'pip install "pstt[{extra}]"'
    check = pstt("check", "--offline")
    assert check.returncode == 1
    assert f"to-{fmt}" in check.stdout and hint in check.stdout, check.stdout
    assert "sink_options.format" in check.stdout
    run = pstt("run", f"to-{fmt}")
    assert run.returncode == 2
    assert hint in run.stderr and run.stderr.startswith("error:"), run.stderr
    assert "Traceback" not in run.stderr
    # The other schedules are unaffected.
    assert pstt("run", "demo-orders-csv").returncode == 0
