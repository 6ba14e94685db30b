"""One request vocabulary: the engine's groups of requests live in probes/request_kinds.py only."""

from __future__ import annotations

import ast
from pathlib import Path

from orderprobe.probes import request_kinds

ROOT = Path(__file__).parents[1]
TYPES = {"xhr", "fetch", "document", "script", "stylesheet"}


def test_the_groups_nest() -> None:
    assert request_kinds.API < request_kinds.PAGE < request_kinds.WAITED_ON
    assert request_kinds.breaks_page("document") and request_kinds.breaks_page(request_kinds.UNTYPED)
    assert not request_kinds.breaks_page("image") and "POST" not in request_kinds.READS


def test_no_other_module_spells_a_set_of_resource_types() -> None:
    """A tuple, list or set literal of resource types anywhere else is a second vocabulary."""
    found = []
    for path in [p for top in ("probes", "profiles", "reports", "scheduler") for p in (ROOT / top).rglob("*.py")]:
        if path.name == "request_kinds.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if len(words & TYPES) >= 2:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
