"""The event catalog (DESIGN §7.7): every type, its description and its data schema, from the models;
served as GET /v1/event_types, listed by client.event_types.list(), rendered in docs/events.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Literal

from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.types import EventType
from yangguang_sdk.types.event import EVENT_TYPES, KNOWN_EVENT_CLASSES, BaseEvent
from yangguang_sdk.types.event_type import EVENT_DESCRIPTIONS, build_catalog, event_catalog
from yangguang_sdk.types.webhook_endpoint import WebhookEndpoint

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalog_lists_every_event_type_once_in_order() -> None:
    assert [entry["type"] for entry in event_catalog()] == list(EVENT_TYPES)
    assert {
        "policy.endorsed",
        "repayment.created",
        "webhook_endpoint.enabled",
        "webhook_endpoint.test",
    } <= set(EVENT_TYPES)


def test_every_event_type_has_a_description_of_its_own() -> None:
    missing = [t for t in EVENT_TYPES if not EVENT_DESCRIPTIONS.get(t)]
    assert not missing, f"add these to EVENT_DESCRIPTIONS (types/event_type.py): {missing}"
    assert not set(EVENT_DESCRIPTIONS) - set(EVENT_TYPES), "descriptions of types that do not exist"


def test_the_data_schemas_are_generated_from_the_models() -> None:
    by_type = {entry["type"]: entry for entry in event_catalog()}
    policy = by_type["policy.bound"]["data_schema"]
    assert by_type["policy.bound"]["data_object"] == "policy"
    assert {"id", "premium", "installments", "status"} <= set(policy["properties"])
    assert (
        by_type["claim.paid"]["data_object"] == "claim"
        and "amount" in by_type["claim.paid"]["data_schema"]["properties"]
    )
    assert by_type["repayment.created"]["data_object"] == "repayment"
    assert (
        by_type["webhook_endpoint.test"]["data_schema"] == by_type["webhook_endpoint.disabled"]["data_schema"]
    )


def test_a_new_event_class_appears_in_the_catalog_by_itself() -> None:
    class SomethingEvent(BaseEvent):
        """Something happened."""

        type: Literal["something.happened", "something.else"]
        data: WebhookEndpoint

    entries = build_catalog([*KNOWN_EVENT_CLASSES, SomethingEvent])
    added = [e for e in entries if e["type"].startswith("something.")]
    assert [e["type"] for e in added] == ["something.happened", "something.else"]
    assert added[0]["description"] == "Something happened."  # until it is given one of its own
    assert added[0]["data_object"] == "webhook_endpoint"


def test_the_api_and_the_client_serve_the_catalog() -> None:
    sandbox = Sandbox()
    with sandbox.client() as client:
        listed = list(client.event_types.list())
    sandbox.close()
    assert all(isinstance(t, EventType) for t in listed)
    assert [t.model_dump(exclude={"object"}) for t in listed] == [
        {k: v for k, v in entry.items() if k != "object"} for entry in event_catalog()
    ]


def _hook() -> Any:
    spec = importlib.util.spec_from_file_location(
        "event_catalog_hook", ROOT / "docs" / "hooks" / "event_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_page_renders_the_catalog_from_the_same_source() -> None:
    hook = _hook()
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert hook.MARKER in page
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "\n  - docs/hooks/event_catalog.py\n" in config
    assert "\n  - Event types: events.md\n" in config
    rendered = hook.on_page_markdown(page)
    for entry in event_catalog():
        assert f"| `{entry['type']}` | {entry['data_object']} | {entry['description']} |" in rendered
    assert '"installments"' in rendered
