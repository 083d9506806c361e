"""Load benchmarks: `make bench` runs bench/run.py. A measuring tool, not a test suite."""
