"""Benchmarks of the Suyuan ledger (design.md §10): ``make bench`` / ``python -m bench``.

Append throughput through the one write path and through the bare store, on SQLite and on a
throwaway PostgreSQL; proof and receipt latency; audit rate; bytes per event on disk. Each
figure is reported beside its §10 target; ``bench/README.md`` says how to read them.
"""

from bench._cli import all_names, main, run

__all__ = ["all_names", "main", "run"]
