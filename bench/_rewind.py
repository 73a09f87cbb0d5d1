"""Taking back what a benchmark appended to a kept ledger (the benchmarks only).

The Kafka benchmarks of a full run append onto the kept 10M-event PostgreSQL trace ledger, so
that their figures are of a ledger that size rather than of an empty one. Each run first takes a
:class:`LedgerMark`; afterwards :meth:`LedgerMark.rewind` deletes every row appended since and
puts the shard heads back, so every run (and every later ``make bench``) measures the same
ledger. The product has no such operation — a ledger only grows, and ``suyuan verify`` would
report a cut one as tampered with — so this lives here, never in ``src/``. The audit of the
whole ledger that follows in the same run (``ledger_scale_postgresql``) checks that what is
left is whole: leaves, chain, Merkle nodes, projections, heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from suyuan.ledger import metadata

#: Tables whose rows belong to a position (shard, seq) of the ledger.
_POSITIONED = ("ledger_entries", "code_events", "code_edges", "trust_entries")
#: Tables a Kafka benchmark must not touch: the rewind could not take their rows back.
_UNTOUCHED = ("ledger_meta", "pseudonym_map")


class RewindError(RuntimeError):
    """The ledger holds changes a rewind cannot take back, or is not as the mark left it."""


@dataclass(frozen=True, slots=True)
class LedgerMark:
    """Where a ledger stood: each shard's head row, the last rejection, the untouched tables'
    row counts."""

    heads: dict[int, dict[str, Any]]
    last_rejection: int
    untouched: dict[str, int]

    @classmethod
    def take(cls, engine: sa.Engine) -> LedgerMark:
        shards = metadata.tables["shards"]
        rejections = metadata.tables["rejections"]
        with engine.connect() as conn:
            heads = {row.shard: dict(row._mapping) for row in conn.execute(sa.select(shards))}
            last = conn.execute(sa.select(sa.func.max(rejections.c.id))).scalar()
            untouched = {name: _count(conn, name) for name in _UNTOUCHED}
        return cls(heads, int(last or 0), untouched)

    @property
    def entries(self) -> int:
        """Entries in the ledger at the mark, over all shards."""
        return sum(int(head["size"]) for head in self.heads.values())

    def rewind(self, engine: sa.Engine) -> int:
        """Delete everything appended since the mark and restore its shard heads, in one
        transaction; the number of rows deleted.

        Raises:
            RewindError: a table the rewind cannot take rows back from changed, or a shard
                head is not the mark's afterwards; nothing is changed then.
        """
        shards = metadata.tables["shards"]
        rejections = metadata.tables["rejections"]
        nodes = metadata.tables["merkle_nodes"]
        checkpoints = metadata.tables["checkpoints"]
        deleted = 0
        with engine.begin() as conn:
            changed = {n: c for n in _UNTOUCHED if (c := _count(conn, n)) != self.untouched[n]}
            if changed:
                raise RewindError(f"rows were added to or taken from {sorted(changed)}")
            now = [row.shard for row in conn.execute(sa.select(shards.c.shard))]
            for shard in now:
                size = int(self.heads[shard]["size"]) if shard in self.heads else 0
                for name in _POSITIONED:
                    table = metadata.tables[name]
                    deleted += _deleted(
                        conn, table.delete().where(table.c.shard == shard, table.c.seq >= size)
                    )
                # A stored node covers leaves [idx * 2^level, (idx + 1) * 2^level).
                deleted += _deleted(
                    conn,
                    nodes.delete().where(
                        nodes.c.shard == shard,
                        (nodes.c.idx + 1).op("<<")(nodes.c.level) > size,
                    ),
                )
                deleted += _deleted(
                    conn,
                    checkpoints.delete().where(
                        checkpoints.c.shard == shard, checkpoints.c.size > size
                    ),
                )
                if shard in self.heads:
                    head = {k: v for k, v in self.heads[shard].items() if k != "shard"}
                    conn.execute(shards.update().where(shards.c.shard == shard).values(head))
                else:
                    deleted += _deleted(conn, shards.delete().where(shards.c.shard == shard))
            deleted += _deleted(
                conn, rejections.delete().where(rejections.c.id > self.last_rejection)
            )
            after = {row.shard: dict(row._mapping) for row in conn.execute(sa.select(shards))}
            if after != self.heads:
                raise RewindError(f"shard heads after the rewind: {sorted(after)}, not the mark's")
        return deleted


def _count(conn: sa.Connection, name: str) -> int:
    table = metadata.tables[name]
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _deleted(conn: sa.Connection, statement: sa.Delete) -> int:
    return int(conn.execute(statement).rowcount)
