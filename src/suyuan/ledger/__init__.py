"""The verifiable ledger (design.md §6): sharded, append-only, hash-chained and Merkle-proven.

- :class:`LedgerStore` — the storage contract; :class:`SqlLedgerStore` — SQLite (WAL) and
  PostgreSQL through SQLAlchemy; :func:`migrate` creates the schema (Alembic).
- :class:`Ledger` — signed checkpoints (C2SP tlog-checkpoint), inclusion/consistency proofs,
  receipts (C2SP tlog-proof).
- :class:`Auditor` — ``suyuan verify``: every signature, the chain, the trees, the checkpoints.
- :class:`Leaf` — the exact bytes of an entry that are hashed (layout in ``docs/ledger.md``).

Errors: :class:`LedgerError` (⊂ ``SuyuanError``) with :class:`StaleWriterError` (a writer lost
its compare-and-set) and :class:`EntryNotFoundError`.
"""

from suyuan.ledger._audit import (
    AuditFinding,
    Auditor,
    AuditReport,
    SignatureChecker,
    default_jobs,
)
from suyuan.ledger._interface import (
    TRUST_SHARD,
    AppendResult,
    CodeEdge,
    CodeEventRef,
    EntryNotFoundError,
    LedgerError,
    LedgerStore,
    OffsetCommit,
    Reached,
    ReachedEdges,
    ReachedEvents,
    Rejection,
    ShardHead,
    StaleWriterError,
    StoredCheckpoint,
    StoredEntry,
    StoredRejection,
    Submission,
)
from suyuan.ledger._leaf import Leaf, from_micros, to_micros
from suyuan.ledger._ledger import (
    DEFAULT_LEDGER_NAME,
    Ledger,
    leaf_from_receipt,
    load_or_create_ledger_key,
    shard_origin,
)
from suyuan.ledger._migrate import migrate
from suyuan.ledger._projections import (
    CERTIFIED_FROM,
    CONTAINS,
    EDGE_EVENT_TYPES,
    TRANSFORMED,
    UNPACKED,
    VOIDED_BY,
    codes_of,
    edges_of,
)
from suyuan.ledger._setup import initialise, ledger_verifier, root_keys
from suyuan.ledger._sql import (
    GENESIS_CHAIN,
    SqlLedgerStore,
    chain_next,
    create_ledger_engine,
    driver_markers,
    driver_rows,
)
from suyuan.ledger._tables import BigInt, metadata, pseudonym_map

__all__ = [
    "CERTIFIED_FROM",
    "CONTAINS",
    "DEFAULT_LEDGER_NAME",
    "EDGE_EVENT_TYPES",
    "GENESIS_CHAIN",
    "TRANSFORMED",
    "TRUST_SHARD",
    "UNPACKED",
    "VOIDED_BY",
    "AppendResult",
    "AuditFinding",
    "AuditReport",
    "Auditor",
    "BigInt",
    "CodeEdge",
    "CodeEventRef",
    "EntryNotFoundError",
    "Leaf",
    "Ledger",
    "LedgerError",
    "LedgerStore",
    "OffsetCommit",
    "Reached",
    "ReachedEdges",
    "ReachedEvents",
    "Rejection",
    "ShardHead",
    "SignatureChecker",
    "SqlLedgerStore",
    "StaleWriterError",
    "StoredCheckpoint",
    "StoredEntry",
    "StoredRejection",
    "Submission",
    "chain_next",
    "codes_of",
    "create_ledger_engine",
    "default_jobs",
    "driver_markers",
    "driver_rows",
    "edges_of",
    "from_micros",
    "initialise",
    "leaf_from_receipt",
    "ledger_verifier",
    "load_or_create_ledger_key",
    "metadata",
    "migrate",
    "pseudonym_map",
    "root_keys",
    "shard_origin",
    "to_micros",
]
