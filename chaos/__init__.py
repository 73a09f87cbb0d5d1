"""Chaos run of the Kafka ingest path (design.md §6, §9): ``make chaos`` / ``python -m chaos``.

Under a steady load of signed batches, ingest workers are SIGKILLed and restarted, the broker is
stopped for 10–30 s, and the ledger's database sessions are cut. Afterwards the topic is drained
and three accounts are compared — what the producer had acknowledged, what the topic holds, what
the ledger stored — and the ledger is audited. ``chaos/README.md`` says how to read the report.
"""

from chaos._run import Settings, main, parse_args, run

__all__ = ["Settings", "main", "parse_args", "run"]
