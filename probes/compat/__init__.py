"""The only place orderprobe reaches into a dependency's private internals.

One module per dependency (``playwright``, ``pytest``), each name here pinned by a canary test
(``tests/test_compat.py``) that fails loudly, naming the attribute, when an upgrade moves it — so
an upgrade breaks one test with a clear message instead of every journey's evidence capture.
``pyproject.toml`` caps each of these dependencies below its next release line.
"""
