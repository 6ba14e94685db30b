"""Built-in checkout probes for the embedded demo shop — and examples to copy for your own."""
