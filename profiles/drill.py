"""A fault drill as a Markdown table: the README's is this, for ``--matrix chaos``.

python -m orderprobe.profiles.drill [MATRIX]     # print it (default: chaos)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from orderprobe.profiles.models import MatrixItem


def table(items: Sequence[MatrixItem]) -> str:
    lines = ["| field study | shop fault | probe | profile | named as |", "|---|---|---|---|---|"]
    for item in items:
        e = item.expectation
        named = "passes (control)" if e.outcome == "pass" else " or ".join(
            f"`{c}/{d}`" for c in e.causes for d in (e.details or ("*",))
        )  # fmt: skip
        faults = ", ".join(f"`{f.label}`" for f in item.faults)
        lines.append(f"| {e.reason.replace('|', '/')} | {faults} | `{item.probe}` | {item.profile.name} | {named} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from orderprobe.profiles.catalogue import load_catalogue

    print(table(load_catalogue().expand(sys.argv[1] if len(sys.argv) > 1 else "chaos")), end="")
