"""Benchmarks of speed and quality against peers; run from the repository root as ``python -m benchmarks.NAME``.

Each module's docstring gives its command; results go to ``benchmarks/results/*.md``.
"""
