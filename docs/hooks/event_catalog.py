"""mkdocs hook: renders the event catalog (``yangguang_sdk.types.event_type.event_catalog``, what
``GET /v1/event_types`` answers) into the page that holds ``<!-- event-catalog -->``.

The events page therefore lists the types, descriptions and data schemas the API serves, never a
hand-copied list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- event-catalog -->"
ROOT = Path(__file__).resolve().parent.parent.parent


def render() -> str:
    """The catalog as Markdown: a table of the types, then each type's data schema, folded."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one
    from yangguang_sdk.types.event_type import event_catalog

    catalog = event_catalog()
    lines = ["| type | `data` | what happened |", "|---|---|---|"]
    for entry in catalog:
        lines.append(f"| `{entry['type']}` | {entry['data_object']} | {entry['description']} |")
    lines.append("")
    shown: set[str] = set()
    for entry in catalog:
        if entry["data_object"] in shown:
            continue
        shown.add(entry["data_object"])
        users = ", ".join(f"`{e['type']}`" for e in catalog if e["data_object"] == entry["data_object"])
        schema = json.dumps(entry["data_schema"], indent=2, ensure_ascii=False)
        lines += [
            f'??? note "The `{entry["data_object"]}` object: JSON Schema of `data` for {users}"',
            "",
            "    ```json",
            *("    " + line for line in schema.splitlines()),
            "    ```",
            "",
        ]
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
