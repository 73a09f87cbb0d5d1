"""Settings of the processes that do Suyuan's bulk work: the ingest worker's writes and the audit.

CPython collects its youngest generation every 700 net allocations of container objects. A
write of 500 events keeps some 18,000 of them alive until it ends (events, payload dicts, codes,
rows), so at that default the collector ran 26 young collections per write, found almost nothing
to free, and moved the write's objects into the older generations: 2.5 collections of the middle
one per write and a full one (over the process's 100,000-odd objects) every five writes.
Collecting every 50,000 allocations instead took 13 % off the CPU of an appended event
(docs/runbook.md, "Worker throughput and batching"); reference cycles are still collected, a
little later.
"""

from __future__ import annotations

import gc

#: Net allocations of container objects between two collections of the youngest generation.
YOUNG_GENERATION_THRESHOLD = 50_000
#: Collections of one generation between two of the next older one (CPython's default: 10).
OLDER_GENERATION_THRESHOLD = 20


def tune_garbage_collector() -> None:
    """Collect the young generation every :data:`YOUNG_GENERATION_THRESHOLD` allocations.

    Called once by each process that writes or audits in bulk (``suyuan ingest-worker``,
    ``suyuan verify`` and its worker processes, the benchmarks); idempotent. Cyclic garbage is
    still collected, only less often; the collector stays enabled.
    """
    gc.set_threshold(
        YOUNG_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD
    )
