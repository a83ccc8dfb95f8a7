"""Consent for binds in engine-level tests (DESIGN §7.3): acknowledged now on the tenant's clock."""

from __future__ import annotations

from typing import Any

from yangguang_sdk.sandbox.engine import Engine


def consent_now(engine: Engine, tenant: str, reference: str = "CR-test") -> dict[str, Any]:
    """The ``consent`` of ``engine.bind_policy`` for an individual borrower, acknowledged now."""
    return {"disclosure_acknowledged_at": engine.now(tenant), "reference": reference}
