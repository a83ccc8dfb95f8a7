"""``import yangguang_sdk`` stays light: the SDK core never loads the sandbox, its web stack or the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ["fastapi", "uvicorn", "starlette", "jinja2", "psycopg", "yangguang_sdk.sandbox", "yangguang_sdk.cli"]


def loaded_after(code: str) -> set[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {HEAVY!r}))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_loads_no_heavy_module() -> None:
    assert loaded_after("import yangguang_sdk") == set()


def test_import_does_not_load_the_client_until_asked() -> None:
    code = """
    import sys, yangguang_sdk
    assert "yangguang_sdk._client" not in sys.modules, "Client is imported lazily"
    """
    assert loaded_after(code) == set()


def test_using_the_client_loads_no_heavy_module() -> None:
    code = """
    import httpx
    import yangguang_sdk
    client = yangguang_sdk.Client(
        api_key="yg_test_abcd", base_url="http://x.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"now": "2026-11-25T02:00:00Z"})),
    )
    client.test_clock.retrieve()
    from yangguang_sdk import AsyncClient, Money, errors, types, pagination
    import yangguang_sdk.resources
    """
    assert loaded_after(code) == set()


def test_star_import_loads_no_heavy_module() -> None:
    assert loaded_after("from yangguang_sdk import *") == set()


def test_importing_webhooks_loads_no_heavy_module() -> None:
    assert loaded_after("import yangguang_sdk\nimport yangguang_sdk.webhooks") == set()


def test_unknown_attribute_is_an_attribute_error() -> None:
    import yangguang_sdk

    with pytest.raises(AttributeError):
        yangguang_sdk.Clinet  # noqa: B018
    assert "Client" in dir(yangguang_sdk)
