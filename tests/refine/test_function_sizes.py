"""No function in workbench/refine is longer than 80 lines (``def`` to last line, docstring included)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

LIMIT = 80


def long_functions(folder: Path, limit: int = LIMIT) -> list[str]:
    """``"file.py:name (n lines)"`` for every function or method over ``limit`` lines."""
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > limit:
                    found.append(f"{path.name}:{node.name} ({size} lines)")
    return found


def test_no_function_in_refine_is_over_80_lines():
    # workbench/__init__.py binds `workbench.refine` to the function: reach the package by name
    assert long_functions(Path(importlib.import_module("workbench.refine").__file__).parent) == []


def test_the_check_finds_a_long_function(tmp_path: Path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert long_functions(tmp_path) == [f"long.py:long ({LIMIT + 1} lines)"]
