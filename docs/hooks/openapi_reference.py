"""mkdocs hook: renders docs/openapi.json into the page that holds ``<!-- openapi-reference -->``.

The HTTP reference is therefore always the committed OpenAPI document (itself checked against the
sandbox app by tests/e2e/test_openapi.py), never a hand-copied table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi-reference -->"
SPEC = Path(__file__).resolve().parent.parent / "openapi.json"


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_ref_name(schema.get('items', {}))}"
    if "enum" in schema:
        return " / ".join(f"`{v}`" for v in schema["enum"])
    return str(schema.get("type", "object"))


def _fields(spec: dict[str, Any], name: str) -> list[str]:
    schema = spec.get("components", {}).get("schemas", {}).get(name, {})
    required = set(schema.get("required", []))
    rows = []
    for field, sub in schema.get("properties", {}).items():
        rows.append(f"| `{field}` | {_ref_name(sub)} | {'yes' if field in required else ''} |")
    return rows


def render(spec: dict[str, Any]) -> str:
    out: list[str] = [f"OpenAPI {spec.get('openapi')}, API version `{spec['info']['version']}`.", ""]
    body_models: list[str] = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            out.append(f"### `{method.upper()} {path}`")
            out.append("")
            if op.get("description") or op.get("summary"):
                out.append(str(op.get("description") or op.get("summary")).strip().splitlines()[0])
                out.append("")
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "path", "header")]
            if params:
                out += ["| parameter | in | type | required |", "|---|---|---|---|"]
                for p in params:
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_ref_name(p.get('schema', {}))} | {'yes' if p.get('required') else ''} |"
                    )
                out.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                name = _ref_name(body)
                body_models.append(name)
                out += [f"Body: [`{name}`](#{name.lower()})", ""]
            responses = ", ".join(
                f"{code} {_ref_name(r.get('content', {}).get('application/json', {}).get('schema', {})) if r.get('content') else ''}".strip()
                for code, r in op.get("responses", {}).items()
            )
            out += [f"Responses: {responses}", ""]
    out += ["## Request bodies", ""]
    for name in dict.fromkeys(body_models):
        out += [f"### {name}", "", "| field | type | required |", "|---|---|---|", *_fields(spec, name), ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return markdown.replace(MARKER, render(spec))
