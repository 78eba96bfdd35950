"""Benchmarks: workloads, runners and the JSON that scripts/bench prints."""
