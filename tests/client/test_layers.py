"""The client core's imports point one way: the wire models know nothing of the transport, and the
resources know a client only through the protocols of ``_request.py``, so no import goes in a circle
(type-checking imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "yangguang_sdk"
TRANSPORT = {"_client", "_base_client", "_request", "_response", "pagination"}


def imported_modules(path: Path) -> set[str]:
    """The package modules ``path`` imports, by their last name (``_client``, ``pagination``, ...)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.rsplit(".", 1)[-1])
        elif isinstance(node, ast.ImportFrom):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "resources").glob("*.py")), ids=lambda p: p.name)
def test_resources_import_neither_client_module(path: Path) -> None:
    assert not imported_modules(path) & {"_client", "_base_client"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "types").glob("*.py")), ids=lambda p: p.name)
def test_wire_models_import_nothing_of_the_transport_layer(path: Path) -> None:
    assert not imported_modules(path) & TRANSPORT


def test_the_request_module_imports_no_client_and_no_resource() -> None:
    assert not imported_modules(PACKAGE / "_request.py") & {"_client", "_base_client", "resources"}
