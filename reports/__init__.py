"""Results store (``orderprobe.store.store``) and the HTML reports rendered from it (run, compare, trend)."""
