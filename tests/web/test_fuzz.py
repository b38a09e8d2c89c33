"""Property-based fuzz of the documented API (schemathesis + hypothesis): valid and invalid
requests for every operation of /api/openapi.json; none may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from pstt_core.logs import teardown_logging
from pstt_core.web.openapi_spec import core_document
from tests.conftest import HomeBuilder
from tests.web.conftest import csv_schedule

MODES = {"valid": GenerationMode.POSITIVE, "invalid": GenerationMode.NEGATIVE}
# an operation with no parameters, body or security has no invalid form to generate
CASES = [(path, method.upper(), mode) for path, ops in core_document()["paths"].items()
         for method, op in ops.items() for mode in MODES
         if mode == "valid" or op.get("parameters") or op.get("requestBody")
         or op.get("security") != []]


@pytest.fixture(scope="module")
def api_schema(module_home: HomeBuilder) -> Iterator[Any]:
    csv_schedule(module_home, "orders")
    # schemathesis' ASGI client sends Host: testserver (Starlette's test client name)
    pstt = module_home.pstt(environ={"PSTT_SCHEDULER_ENABLED": "false",
                                     "PSTT_ALLOWED_HOSTS": "testserver"})
    yield schemathesis.openapi.from_asgi("/api/openapi.json", pstt.asgi_app())
    teardown_logging(module_home.root / "logs")


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[" ".join(c) for c in CASES])
def test_no_server_errors(api_schema: Any, path: str, method: str, mode: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=MODES[mode]))
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, (case.method, case.formatted_path, case.body,
                                            response.text[:500])
        if response.status_code >= 400 and path != "/metrics":
            assert "error" in response.json(), response.text[:200]

    check()
