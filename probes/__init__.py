"""orderprobe: synthetic end-to-end checkout probes."""
