"""The monitoring service: `orderprobe schedule` runs probe jobs on APScheduler, alerts, exposes metrics."""
