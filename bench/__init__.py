"""Benchmarks: each goal measured against its baseline in one run, reported as a ratio."""
