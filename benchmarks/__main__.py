"""Run every benchmark module in this folder (each exposes ``main(quick: bool) -> None``)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke-check the benchmarks)")
    args = parser.parse_args()
    names = args.names or sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        if hasattr(module, "main"):
            print(f"\n=== {name} ===", flush=True)
            module.main(quick=args.quick)


if __name__ == "__main__":
    main()
