"""The receiver examples work in their framework's test client, given the raw body."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from yangguang_sdk.webhooks import MemoryInbox, Webhook, generate_ed25519_keypair

from ._events import event_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIGNING_KEY, PUBLIC_KEY = generate_ed25519_keypair()
SIGNER = Webhook(SIGNING_KEY)
URL = "/webhooks/yangguang"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed(event_id: str) -> tuple[bytes, dict[str, str]]:
    body = event_bytes(event_id)
    return body, SIGNER.build_headers(event_id, body)  # signed now: the examples use the real clock


def reserialised(body: bytes) -> bytes:
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def check_answers(post: Any, get: Any, caplog: pytest.LogCaptureFixture, logger: str) -> None:
    """The same story for every framework: processed, duplicate, re-serialised body, wrong method."""
    body, headers = signed("evt_example_1")
    with caplog.at_level(logging.INFO, logger=logger):
        status, answer = post(body, headers)
    assert (status, answer["status"]) == (200, "processed")
    assert any("clm_example_1" in record.getMessage() for record in caplog.records if record.name == logger)
    status, answer = post(body, headers)
    assert (status, answer["status"]) == (200, "duplicate")
    status, answer = post(reserialised(body), headers)
    assert status == 400 and "re-serialised" in answer["error"]["message"]
    assert get() == 405


def test_fastapi_receiver(caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    app = load("receiver_fastapi").create_app(PUBLIC_KEY, MemoryInbox())
    with TestClient(app) as client:

        def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
            response = client.post(URL, content=body, headers=headers)
            return response.status_code, response.json()

        check_answers(post, lambda: client.get(URL).status_code, caplog, "receiver")


def test_fastapi_receiver_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YANGGUANG_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="YANGGUANG_WEBHOOK_SECRET"):
        load("receiver_fastapi").create_app()


def test_flask_receiver(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("YANGGUANG_WEBHOOK_SECRET", PUBLIC_KEY)
    monkeypatch.setenv("YANGGUANG_WEBHOOK_INBOX", str(tmp_path / "inbox.db"))
    client = load("receiver_flask").create_app().test_client()

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = client.post(URL, data=body, headers=headers, content_type="application/json")
        return response.status_code, response.get_json()

    check_answers(post, lambda: client.get(URL).status_code, caplog, "receiver")
    assert (tmp_path / "inbox.db").exists()


def test_django_receiver(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # django ships no type information: reach it through importlib so mypy sees Any.
    django: Any = importlib.import_module("django")
    settings: Any = importlib.import_module("django.conf").settings

    if settings.configured and getattr(settings, "ROOT_URLCONF", None) != "yangguang_receiver.urls":
        pytest.skip("Django is already configured for another project in this process")
    monkeypatch.syspath_prepend(str(EXAMPLES / "receiver_django"))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "yangguang_receiver.settings")
    monkeypatch.setenv(
        "YANGGUANG_WEBHOOK_SECRET", f"{generate_ed25519_keypair()[1]},{PUBLIC_KEY}"
    )  # rotation
    for name in [m for m in sys.modules if m.startswith("yangguang_receiver")]:
        monkeypatch.delitem(sys.modules, name)
    django.setup()
    client = importlib.import_module("django.test").Client()

    def post(body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        response = client.post(URL, data=body, content_type="application/json", headers=headers)
        return response.status_code, json.loads(response.content)

    check_answers(post, lambda: client.get(URL).status_code, caplog, "yangguang_receiver.views")
