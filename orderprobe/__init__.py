"""orderprobe: synthetic end-to-end checkout probes — and its application layer: the
``orderprobe`` command (cli), run orchestration (runner, repeat, preflight) and doctor."""
