"""The committed docs/openapi.json is the app's current OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.sandbox.app import openapi_json

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_matches_the_app() -> None:
    sb = Sandbox()
    try:
        current = openapi_json(sb.app)
    finally:
        sb.close()
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    assert COMMITTED.read_text(encoding="utf-8") == current, (
        "docs/openapi.json is out of date with the sandbox app: run `make openapi` and commit it"
    )
