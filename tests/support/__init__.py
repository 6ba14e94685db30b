"""Test support that does not ship with the product: synthetic results (``sample``), local
alert receivers (``receivers``) and a hostile local storefront for failure-point and evidence
tests (``hostile``). Also used by benchmarks/ (run from the repository root)."""
