"""Loaded by every Python process ``make test`` starts (``tests/conftest.py`` puts this folder on
PYTHONPATH): counts the real parts each test uses (``tests/support/real_parts.py``)."""

import importlib.util
import os
from pathlib import Path

if os.environ.get("ORDERPROBE_REAL_PARTS_DIR"):
    try:
        _spec = importlib.util.spec_from_file_location(
            "_orderprobe_real_parts", Path(__file__).parents[1] / "real_parts.py"
        )
        _module = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_module)
        _module.install()
    except Exception as exc:  # a process must start even if counting cannot
        import sys

        print(f"real_parts: not counting in this process: {exc}", file=sys.stderr)

try:  # the sitecustomize this one shadows (Debian: apport's hook), if any
    import apport_python_hook
except ImportError:
    pass
else:
    apport_python_hook.install()
