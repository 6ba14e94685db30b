"""Side-by-side measurements. Run all: ``python -m benchmarks``; one: ``python -m benchmarks.<name>``.

Benchmarks print figures and ratios measured in the same run; they assert nothing about time.
"""
