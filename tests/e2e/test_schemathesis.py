"""Property-based tests of the HTTP API from its own OpenAPI document: no 5xx, responses match."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from yangguang_sdk.sandbox import Sandbox

_SANDBOX = Sandbox()
schema = schemathesis.openapi.from_asgi("/openapi.json", _SANDBOX.app)
EXAMPLES = 300 if os.environ.get("YANGGUANG_SOAK") else 25
HEADERS = {"Authorization": "Bearer yg_test_schemathesis_tenant"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers=HEADERS,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
