"""Property-based tests of the HTTP API from its own OpenAPI document: no 5xx, responses match."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.servers import served_sandbox as served_sandbox_at
from yangguang_sdk.sandbox import Sandbox

_SANDBOX = Sandbox()
schema = schemathesis.openapi.from_asgi("/openapi.json", _SANDBOX.app)
EXAMPLES = 300 if os.environ.get("YANGGUANG_SOAK") else 25
HEADERS = {"Authorization": "Bearer yg_test_schemathesis_tenant"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    case.call_and_validate(
        headers=HEADERS,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# -- against the served sandbox (uvicorn on loopback), at the soak size -----------------------------


@pytest.mark.slow
def test_served_sandbox_survives_schemathesis_at_soak_size(tmp_path: Path) -> None:
    """The schemathesis CLI against ``python -m yangguang_sdk.sandbox`` over loopback HTTP."""
    with served_sandbox_at() as url:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--header",
                f"Authorization: {HEADERS['Authorization']}",
                "--max-examples",
                str(EXAMPLES),
                "--phases",
                "examples,coverage,fuzzing",
            ],
            capture_output=True,
            text=True,
            timeout=1500,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
