"""Test support that does not ship with the product: synthetic results (``sample``) and local
alert receivers (``receivers``). Also used by benchmarks/ (run from the repository root)."""
