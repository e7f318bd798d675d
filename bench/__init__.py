"""Benchmarks of Kerve's Predict and Train paths; run with ``python -m bench``.

Each server runs in its own process and the load generator in another, all on
127.0.0.1. The results go to standard output and to BENCHMARKS.md.
"""
