"""No module of the package reaches into another module's private names (DESIGN §7.1).

A name that starts with one underscore belongs to the module that defines it. Other modules use
public seams: ``from .types.identity import resident_id_check_character``, not ``_ID_WEIGHTS``;
``client.raw_page(...)``, not ``client._execute_page(...)``. Importing a *public* name from a private
module (``from ._base_client import APIRequest``) is how the package is built and stays allowed.

Two checks over the source, by its syntax tree:
- ``from X import _name`` where X is another module;
- ``obj._name`` where ``obj`` is not ``self`` or ``cls`` and ``_name`` is defined in some other
  module of the package but not in this one (attribute reach-ins such as ``client._execute``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "yangguang_sdk"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))}


def _defined(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assignments, attributes set on self."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return {n for n in names if _private(n)}


def _reach_ins(path: Path, tree: ast.Module, elsewhere: set[str]) -> Iterator[str]:
    own = _defined(tree)
    where = path.relative_to(PACKAGE.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _private(alias.name):
                    yield f"{where}:{node.lineno}: imports {alias.name} from {node.module or '.'}"
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            if node.attr in elsewhere and node.attr not in own:
                yield f"{where}:{node.lineno}: reaches into .{node.attr} (defined in another module)"


def test_no_module_uses_another_modules_private_names() -> None:
    modules = _modules()
    defined = {path: _defined(tree) for path, tree in modules.items()}
    problems: list[str] = []
    for path, tree in modules.items():
        elsewhere = set().union(*(names for other, names in defined.items() if other != path))
        problems.extend(_reach_ins(path, tree, elsewhere))
    assert not problems, "private names used across modules:\n" + "\n".join(problems)


def test_the_check_finds_a_reach_in(tmp_path: Path) -> None:
    tree = ast.parse("from .types.identity import _ID_WEIGHTS\npage = client._execute_page(req)\n")
    found = list(_reach_ins(PACKAGE / "x.py", tree, {"_execute_page"}))
    assert len(found) == 2, found
