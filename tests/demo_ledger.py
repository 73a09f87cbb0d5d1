"""The demo story in a ledger, for tests that read it: written through the one write path
(:class:`~suyuan.intake.LedgerWriter`), every message accepted."""

from __future__ import annotations

from suyuan.intake import LedgerWriter, Message, shard_for
from suyuan.ledger import SqlLedgerStore, create_ledger_engine, initialise, migrate
from suyuan.tlog import NoteSigner, NoteVerifier
from suyuan_demo import DemoData, build_demo


def write_demo(store: SqlLedgerStore, data: DemoData) -> None:
    """Append every message of ``data`` to ``store`` (fails the test on any rejection)."""
    writer = LedgerWriter(store, [data.scenario.root])
    for number, message in enumerate(data.messages):
        result = writer.write(shard_for(message), [Message(f"demo#{number}", message)])
        assert result.rejections == (), result.rejections


def load_demo(
    url: str, *, seed: int = 2026, verifier: NoteVerifier | None = None
) -> tuple[DemoData, SqlLedgerStore]:
    """A new ledger at ``url`` (migrated, initialised for ``verifier`` — a fresh ledger key by
    default) holding the demo story of ``seed``."""
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    data = build_demo(seed=seed)
    key = verifier or NoteSigner.generate("test.example/ledger").verifier
    initialise(store, key, [data.scenario.root])
    write_demo(store, data)
    return data, store
