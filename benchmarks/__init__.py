"""Speed and memory benchmarks (``python -m benchmarks.speed``); see docs/benchmarks.md."""
