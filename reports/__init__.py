"""Results store (``reports.store``) and the HTML reports rendered from it (run, compare, trend)."""
