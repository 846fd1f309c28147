"""Benchmarks: throughput and peak memory of streamer against baselines, in one run."""
