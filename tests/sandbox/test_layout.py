"""The sandbox's house rule (DESIGN §7.1): the engine knows no HTTP (``tests/test_private_names.py``
checks private names across the whole package)."""

from __future__ import annotations

import ast
from pathlib import Path

import yangguang_sdk.sandbox
from yangguang_sdk.sandbox.errors import SandboxError

SANDBOX = Path(yangguang_sdk.sandbox.__file__).parent
HTTP = ("fastapi", "starlette", "httpx", "uvicorn")


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from module import name`` and ``import module`` in ``path``."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.extend((module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, "") for alias in node.names)
    return found


def test_the_engine_imports_nothing_of_http() -> None:
    for path in sorted((SANDBOX / "engine").glob("*.py")):
        for module, name in imports(path):
            assert not module.lstrip(".").startswith(HTTP), (path.name, module)
            assert module.lstrip(".") not in ("app", "idempotency", "delivery"), (path.name, module)
            assert name not in ("app", "idempotency", "delivery"), (path.name, name)
    assert not hasattr(SandboxError, "status"), "domain errors carry a kind; app.py maps it to a status"
