"""Tamper detection: someone with write access to the database changes the ledger, and
``suyuan verify`` exits 1 naming the first bad entry — shard, sequence number and problem
(``docs/ledger.md``, "Auditing"; design.md §6).

One real ledger is built per backend through the public path (``suyuan ledger init``, the
:class:`LedgerWriter`, ``suyuan ledger checkpoint``); each test audits its own copy after
changing it with plain SQL, as an attacker would. Where the attacker can also cover their
tracks (recompute the hash chain, the shard head and the Merkle nodes with the published
formulas), a second case does that too: then the signatures and checkpoints must catch it.

The ledger (checkpoints at sizes 12 and 20 of shard 0, size 3 of shard 1 and size 4 of the
trust shard)::

    trust shard  seq 0..3    trust events registering the farm and the market (root-signed batch)
    shard 0      seq 0..3    farm certificates (one signed batch)
                 seq 4..11   farm certificates (one signed batch)
                 seq 12..19  farm certificates (one signed batch)
    shard 1      seq 0..2    a market receipt and two market certificates (one signed batch)
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from suyuan.events import decode_batch, decode_event
from suyuan.events.model import SIGNING_KEY_REGISTERED
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    AuditReport,
    Leaf,
    LedgerError,
    SqlLedgerStore,
    ledger_verifier,
    load_or_create_ledger_key,
    root_keys,
)
from suyuan.ledger import _audit as audit_module
from suyuan.merkle import Frontier
from suyuan.scenario import Organisation
from suyuan.signing import batch_proofs, save_key_pair
from suyuan.tlog import Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint
from suyuan_cli import app
from tests.ledger_world import World

runner = CliRunner(env={"COLUMNS": "1000"})  # one finding per line, never wrapped

SHARD0_SIZE = 20
SHARD1_SIZE = 3
FIRST_CHECKPOINT = 12  # of shard 0; the others are at SHARD0_SIZE and SHARD1_SIZE
TRUST_SIZE = 4
BATCH_SIGNATURES = 5  # the trust batch, three farm batches, one market batch
CHECKPOINTS = 4
CONTACT = b"0571-63781234"  # inside every certificate's event bytes


# --- the ledger under attack ------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltLedger:
    """A ledger built through the public path, and the key files its owner and auditors hold."""

    url: str
    ledger_key: Path  # the ledger's signing key; ``ledger.pub`` beside it is what auditors get
    regulator_pub: Path
    world: World
    admin_url: str | None = None  # PostgreSQL: the server's maintenance database

    @property
    def ledger_pub(self) -> Path:
        return self.ledger_key.with_suffix(".pub")

    def signer(self) -> NoteSigner:
        return load_or_create_ledger_key(self.ledger_key)


def _build(url: str, keys: Path, admin_url: str | None = None) -> BuiltLedger:
    world = World()
    _, regulator_pub = save_key_pair(world.scenario.root_key, keys, "regulator")
    built = BuiltLedger(url, keys / "ledger.key", regulator_pub, world, admin_url)
    init = runner.invoke(
        app,
        ["ledger", "init", "--db", url, "--root-key", str(regulator_pub),
         "--regulator", world.scenario.regulator_uscc, "--ledger-key", str(built.ledger_key)],
    )  # fmt: skip
    assert init.exit_code == 0, init.output

    store = SqlLedgerStore.from_url(url)
    writer = LedgerWriter(store, root_keys(store))
    farm_a = [world.certificate() for _ in range(8)]
    farm_b = [world.certificate() for _ in range(8)]
    # the market receives goods under two farm certificates, then certifies them (收购者)
    cited = [cert.codes[0] for cert in farm_a[: SHARD1_SIZE - 1]]
    _shipped, received = world.delivery([world.scenario.unit_code(lot="MKT0506")], cited)
    market = [received, *(world.certificate(upstream=(code,)) for code in cited)]
    first = [world.certificate() for _ in range(4)]
    writes = [writer.write(TRUST_SHARD, [Message("trust[0]@0", world.trust_message())])]
    writes.append(writer.write(0, [Message("t[0]@0", world.farm_batch(first))]))
    writes.append(writer.write(0, [Message("t[0]@1", world.farm_batch(farm_a))]))
    _sign_checkpoints(built)
    writes.append(writer.write(0, [Message("t[0]@2", world.farm_batch(farm_b))]))
    writes.append(writer.write(1, [Message("t[1]@0", world.scenario.sign(world.market, market))]))
    _sign_checkpoints(built)
    store.close()
    assert [w.rejections for w in writes] == [()] * 5
    assert sum(w.accepted for w in writes) == TRUST_SIZE + SHARD0_SIZE + SHARD1_SIZE
    return built


def _sign_checkpoints(built: BuiltLedger) -> None:
    result = runner.invoke(
        app, ["ledger", "checkpoint", "--db", built.url, "--ledger-key", str(built.ledger_key)]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def pristine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltLedger]:
    """One untampered ledger per backend; each test attacks a copy of it (``ledger``)."""
    keys = tmp_path_factory.mktemp("keys")
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("pristine") / "ledger.sqlite"
        yield _build(f"sqlite:///{path}", keys)
        return
    server: str = request.getfixturevalue("postgres_url")
    with _postgres_database(server) as url:
        built = _build(url, keys, admin_url=server)
        # A template database must have no sessions: end those the commands left in their pools.
        _end_sessions(server, _database_name(url))
        yield built


@pytest.fixture
def ledger(pristine: BuiltLedger, tmp_path: Path) -> Iterator[BuiltLedger]:
    """A private copy of the pristine ledger, for one test to tamper with."""
    if pristine.admin_url is None:
        copy = tmp_path / "ledger.sqlite"
        _copy_sqlite(Path(_database_name(pristine.url)), copy)
        yield dataclasses.replace(pristine, url=f"sqlite:///{copy}")
        return
    template = _database_name(pristine.url)
    with _postgres_database(pristine.admin_url, template=template) as url:
        yield dataclasses.replace(pristine, url=url)


@pytest.fixture
def attacker(ledger: BuiltLedger) -> Iterator[Attacker]:
    attacker = Attacker(ledger.url)
    yield attacker
    attacker.close()


def _database_name(url: str) -> str:
    return sa.make_url(url).database or ""


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies a consistent snapshot, including what is still in the WAL file.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@contextmanager
def _postgres_database(server_url: str, *, template: str | None = None) -> Iterator[str]:
    name = f"tamper_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"{_copy_clause(conn, template)}')
                break
            except sa.exc.OperationalError:
                # A template must have no other sessions; a closing one may linger briefly.
                if template is None or attempt == 4:
                    raise
                _end_sessions(server_url, template)
                time.sleep(0.2)
        try:
            yield sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _copy_clause(conn: sa.Connection, template: str | None) -> str:
    if template is None:
        return ""
    # Copying the files is the faster way for a small database (PostgreSQL 15 and later).
    fast = (conn.dialect.server_version_info or (0,)) >= (15,)
    return f' TEMPLATE "{template}"' + (" STRATEGY FILE_COPY" if fast else "")


def _end_sessions(server_url: str, database: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
    finally:
        admin.dispose()


# --- the attacker: plain SQL on the tables ----------------------------------------------------


class Attacker:
    """Changes the ledger's tables directly, as someone with database access would."""

    def __init__(self, url: str) -> None:
        self._engine = sa.create_engine(url)

    def close(self) -> None:
        self._engine.dispose()

    def _run(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def _rows(self, sql: str, params: dict[str, Any]) -> list[sa.Row[Any]]:
        with self._engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    # entries

    def entries(self, shard: int) -> list[sa.Row[Any]]:
        return self._rows(
            "SELECT seq, event_id, leaf, chain_hash FROM ledger_entries "
            "WHERE shard = :shard ORDER BY seq",
            {"shard": shard},
        )

    def entry(self, shard: int, seq: int) -> sa.Row[Any]:
        rows = self._rows(
            "SELECT seq, event_id, leaf, chain_hash FROM ledger_entries "
            "WHERE shard = :shard AND seq = :seq",
            {"shard": shard, "seq": seq},
        )
        assert len(rows) == 1, f"no entry at shard {shard} seq {seq}"
        return rows[0]

    def leaf(self, shard: int, seq: int) -> bytes:
        return bytes(self.entry(shard, seq).leaf)

    def update_entry(self, shard: int, seq: int, **values: object) -> None:
        columns = ", ".join(f"{name} = :{name}" for name in values)
        self._run(
            f"UPDATE ledger_entries SET {columns} WHERE shard = :shard AND seq = :seq",
            {**values, "shard": shard, "seq": seq},
        )

    def move_entry(self, shard: int, seq: int, to_seq: int) -> None:
        self._run(
            "UPDATE ledger_entries SET seq = :to_seq WHERE shard = :shard AND seq = :seq",
            {"to_seq": to_seq, "shard": shard, "seq": seq},
        )

    def delete_entry(self, shard: int, seq: int) -> None:
        self._run(
            "DELETE FROM ledger_entries WHERE shard = :shard AND seq = :seq",
            {"shard": shard, "seq": seq},
        )

    def insert_entry(self, shard: int, seq: int, event_id: str, leaf: bytes) -> None:
        """Add a row; its chain hash is a placeholder until :meth:`cover_tracks`."""
        self._run(
            "INSERT INTO ledger_entries (shard, seq, event_id, leaf, chain_hash) "
            "VALUES (:shard, :seq, :event_id, :leaf, :chain_hash)",
            {"shard": shard, "seq": seq, "event_id": event_id, "leaf": leaf,
             "chain_hash": bytes(32)},
        )  # fmt: skip

    def swap_entries(self, shard: int, i: int, j: int) -> None:
        """Exchange everything but the position (via a free event id: it is unique)."""
        first, second = self.entry(shard, i), self.entry(shard, j)
        self.update_entry(shard, i, event_id="swap", leaf=second.leaf, chain_hash=second.chain_hash)
        self.update_entry(
            shard, j, event_id=first.event_id, leaf=first.leaf, chain_hash=first.chain_hash
        )
        self.update_entry(shard, i, event_id=second.event_id)

    def add_trust_position(self, shard: int, seq: int) -> None:
        self._run(
            "INSERT INTO trust_entries (shard, seq, recorded_at) VALUES (:shard, :seq, :at)",
            {"shard": shard, "seq": seq, "at": 0},
        )

    def allow_duplicate_event_ids(self) -> None:
        """Drop the unique constraint on ``ledger_entries.event_id``."""
        if self._engine.dialect.name == "postgresql":
            (unique,) = self._rows(
                "SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'ledger_entries'::regclass AND contype = 'u'",
                {},
            )
            self._run(f'ALTER TABLE ledger_entries DROP CONSTRAINT "{unique.conname}"')
            return
        # SQLite cannot drop a constraint: rebuild the table without it.
        with self._engine.begin() as conn:
            for sql in (
                "CREATE TABLE entries_copy (shard INTEGER NOT NULL, seq INTEGER NOT NULL, "
                "event_id VARCHAR(64) NOT NULL, leaf BLOB NOT NULL, chain_hash BLOB NOT NULL, "
                "PRIMARY KEY (shard, seq))",
                "INSERT INTO entries_copy SELECT shard, seq, event_id, leaf, chain_hash "
                "FROM ledger_entries",
                "DROP TABLE ledger_entries",
                "ALTER TABLE entries_copy RENAME TO ledger_entries",
            ):
                conn.exec_driver_sql(sql)

    def cover_tracks(self, shard: int) -> None:
        """Recompute every chain hash, the Merkle nodes and the shard head from the leaves."""
        chain = bytes(32)
        frontier = Frontier()
        chain_rows: list[dict[str, Any]] = []
        node_rows: list[dict[str, Any]] = []
        for row in self.entries(shard):
            hashed = hashlib.sha256(b"\x00" + bytes(row.leaf)).digest()
            chain = hashlib.sha256(chain + hashed).digest()
            chain_rows.append({"shard": shard, "seq": row.seq, "chain_hash": chain})
            node_rows.extend(
                {"shard": shard, "level": n.level, "idx": n.index, "hash": n.hash}
                for n in frontier.append(hashed)
            )
        with self._engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE ledger_entries SET chain_hash = :chain_hash "
                    "WHERE shard = :shard AND seq = :seq"
                ),
                chain_rows,
            )
            conn.execute(sa.text("DELETE FROM merkle_nodes WHERE shard = :shard"), {"shard": shard})
            conn.execute(
                sa.text(
                    "INSERT INTO merkle_nodes (shard, level, idx, hash) "
                    "VALUES (:shard, :level, :idx, :hash)"
                ),
                node_rows,
            )
            conn.execute(
                sa.text(
                    "UPDATE shards SET size = :size, frontier = :frontier, chain_head = :chain "
                    "WHERE shard = :shard"
                ),
                {"size": frontier.size, "frontier": frontier.to_bytes(), "chain": chain,
                 "shard": shard},
            )  # fmt: skip

    # checkpoints and configuration

    def checkpoint_note(self, shard: int, size: int) -> str:
        rows = self._rows(
            "SELECT note FROM checkpoints WHERE shard = :shard AND size = :size",
            {"shard": shard, "size": size},
        )
        assert len(rows) == 1, f"no checkpoint of shard {shard} at size {size}"
        return str(rows[0].note)

    def replace_checkpoint(self, shard: int, size: int, note: str) -> None:
        self._run(
            "UPDATE checkpoints SET note = :note WHERE shard = :shard AND size = :size",
            {"note": note, "shard": shard, "size": size},
        )

    def set_meta(self, name: str, value: str) -> None:
        self._run(
            "UPDATE ledger_meta SET value = :value WHERE name = :name",
            {"value": value, "name": name},
        )


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def _byte_inside(leaf: bytes, part: str) -> int:
    """An index inside the event bytes (the contact phone), the batch signature or the event's
    audit path in its batch."""
    parsed = Leaf.from_bytes(leaf)
    if part == "signature":
        return leaf.index(parsed.signature) + 10
    if part == "path":
        return leaf.index(parsed.batch_path[0]) + 5
    index = leaf.rindex(CONTACT) + len(CONTACT) - 1
    assert index >= len(leaf) - len(parsed.event)
    return index


def _leaf_of(message: bytes, *, shard: int, seq: int) -> bytes:
    """The leaf the ledger would make for the first event of a signed batch message."""
    batch = decode_batch(message)
    proof = batch_proofs(batch)[0]
    return Leaf(
        shard=shard,
        seq=seq,
        recorded_at=datetime.now(UTC),
        key_id=batch.key_id,
        signature=batch.signature,
        batch_size=proof.count,
        batch_index=0,
        batch_path=proof.audit_path,
        event=batch.events[0],
    ).to_bytes()


# --- running the audit ------------------------------------------------------------------------

_FIRST_FINDING = re.compile(
    r"^FAILED: first bad entry: (shard \d+(?: seq \d+)?): (\w+): (.*)$", re.MULTILINE
)


def _verify(ledger: BuiltLedger, *options: str) -> Result:
    """``suyuan verify`` in one process, which must print exactly what two worker processes
    print when each checks ranges of 4 entries (the chain, the trees, the checkpoints and
    the signature count joined across ranges; the same findings in the same order)."""
    alone = runner.invoke(app, ["verify", "--db", ledger.url, "--jobs", "1", *options])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit_module, "_CHUNK", 4)  # ranges of 4 entries: a power of two
        patch.setattr(audit_module, "_PARALLEL_FROM", {"fork": 0, "forkserver": 0})
        split = runner.invoke(app, ["verify", "--db", ledger.url, "--jobs", "2", *options])
    assert (split.exit_code, split.output) == (alone.exit_code, alone.output)
    return alone


def _first_finding(result: Result) -> tuple[str, str, str]:
    """(where, problem, detail) of the first finding ``suyuan verify`` printed."""
    assert result.exit_code == 1, result.output
    match = _FIRST_FINDING.search(result.output)
    assert match is not None, result.output
    where, problem, detail = match.groups()
    return where, problem, detail


# --- 1. one byte changed ----------------------------------------------------------------------


@pytest.mark.parametrize("part", ["event", "signature"])
@pytest.mark.parametrize(("shard", "seq"), [(0, 7), (1, 1)])
def test_flipped_byte_breaks_the_chain_at_its_entry(
    ledger: BuiltLedger, attacker: Attacker, part: str, shard: int, seq: int
) -> None:
    leaf = attacker.leaf(shard, seq)
    attacker.update_entry(shard, seq, leaf=_flip(leaf, _byte_inside(leaf, part)))

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard {shard} seq {seq}", "chain_break")


@pytest.mark.parametrize("part", ["event", "signature", "path"])
def test_flipped_byte_under_a_rebuilt_chain_fails_its_signature(
    ledger: BuiltLedger, attacker: Attacker, part: str
) -> None:
    leaf = attacker.leaf(0, 7)
    attacker.update_entry(0, 7, leaf=_flip(leaf, _byte_inside(leaf, part)))
    attacker.cover_tracks(0)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == ("shard 0 seq 7", "bad_signature")


@pytest.mark.parametrize("field", ["actor", "event_id"])
def test_rewritten_envelope_under_a_rebuilt_chain_is_caught(
    ledger: BuiltLedger, attacker: Attacker, field: str
) -> None:
    """The audit reads only an event's id, type and actor; rewriting one of those in the leaf
    (and covering the tracks) is still caught: the signer does not own the new actor, and
    the row no longer holds the leaf's event id."""
    leaf = attacker.leaf(0, 7)
    event = decode_event(Leaf.from_bytes(leaf).event)
    if field == "actor":
        old, new = event.actor, ledger.world.market.uscc  # the farm's event, the market's name
    else:
        old, new = event.event_id, str(uuid.uuid4())
    assert len(old) == len(new) and leaf.count(old.encode()) == 1
    attacker.update_entry(0, 7, leaf=leaf.replace(old.encode(), new.encode()))
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    expected = "wrong_signer" if field == "actor" else "index_mismatch"
    assert (where, problem) == ("shard 0 seq 7", expected)
    assert new in detail


# --- 2. a row deleted -------------------------------------------------------------------------


def test_deleted_row_is_a_missing_entry(ledger: BuiltLedger, attacker: Attacker) -> None:
    attacker.delete_entry(0, 9)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == ("shard 0 seq 9", "missing_entry")
    assert detail == "entries 9..9 are missing"


def test_deleted_row_with_the_rest_renumbered_is_misplaced(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    attacker.delete_entry(0, 9)
    for seq in range(10, SHARD0_SIZE):  # upwards: each row moves into the place just freed
        attacker.move_entry(0, seq, seq - 1)
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == ("shard 0 seq 9", "misplaced_entry")
    assert detail == "leaf says shard 0 seq 10"


def test_deleted_last_row_with_the_head_rewound_contradicts_the_checkpoint(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    attacker.delete_entry(0, SHARD0_SIZE - 1)
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE - 1}", "checkpoint_beyond_ledger")
    assert f"size {SHARD0_SIZE}" in detail
    assert f"{SHARD0_SIZE - 1} entries" in detail


def test_deleted_last_row_contradicts_the_shard_head(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    attacker.delete_entry(0, SHARD0_SIZE - 1)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE - 1}", "head_mismatch")
    assert detail == f"shard head says {SHARD0_SIZE} entries, the ledger holds {SHARD0_SIZE - 1}"


# --- 3. a row inserted ------------------------------------------------------------------------


def test_copied_row_appended_with_a_valid_chain_is_misplaced(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    attacker.insert_entry(0, SHARD0_SIZE, str(uuid.uuid4()), attacker.leaf(0, 5))
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "misplaced_entry")
    assert detail == "leaf says shard 0 seq 5"


def test_replayed_leaf_under_a_new_event_id_is_an_index_mismatch(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    original = Leaf.from_bytes(attacker.leaf(0, 5))
    replayed = dataclasses.replace(original, seq=SHARD0_SIZE).to_bytes()
    attacker.insert_entry(0, SHARD0_SIZE, str(uuid.uuid4()), replayed)
    attacker.cover_tracks(0)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "index_mismatch")


def test_replayed_event_is_found_even_without_the_unique_index(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    """A second copy of a signed event, correctly placed and chained, under the same event id
    (the attacker drops the unique index first): each entry passes on its own, but the ledger
    must never hold one event twice (design.md §6: ``event_id`` is unique)."""
    original = attacker.entry(0, 5)
    replayed = dataclasses.replace(Leaf.from_bytes(bytes(original.leaf)), seq=SHARD0_SIZE)
    attacker.allow_duplicate_event_ids()
    attacker.insert_entry(0, SHARD0_SIZE, original.event_id, replayed.to_bytes())
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "duplicate_event")
    assert "already entry 5 of shard 0" in detail


def test_forged_event_signed_by_an_unregistered_key(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    world = ledger.world
    mallory = _unregistered_organisation(world)
    _append_forged(attacker, world.scenario.sign(mallory, [world.certificate()]))

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "unknown_key")


def test_forged_event_in_another_actors_name(ledger: BuiltLedger, attacker: Attacker) -> None:
    world = ledger.world
    forged = world.scenario.sign(world.market, [world.certificate()])  # the farm's certificate
    _append_forged(attacker, forged)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "wrong_signer")


def test_forged_key_registration_is_a_bad_trust_event(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    """The attacker registers their own key for the farm, signed with that key (they do not
    hold the regulator's), and lists it in the trust index."""
    s = ledger.world.scenario
    mallory = _unregistered_organisation(ledger.world)
    registration = s.event(
        s.regulator_uscc,
        SIGNING_KEY_REGISTERED,
        {
            "organisation": ledger.world.farm.uscc,
            "key_id": mallory.key.key_id,
            "public_key": base64.b64encode(mallory.key.verify_key.raw).decode(),
        },
    )
    _append_forged(attacker, s.sign(mallory, [registration]))
    attacker.add_trust_position(0, SHARD0_SIZE)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE}", "bad_trust_event")


def _unregistered_organisation(world: World) -> Organisation:
    return world.scenario.organisation("冒名农场", ["PRODUCER"], "330185", "浙江省杭州市临安区")


def _append_forged(attacker: Attacker, message: bytes) -> None:
    """Append the batch's first event as the ledger would have, chain and head included."""
    batch = decode_batch(message)
    event_id = decode_event(batch.events[0]).event_id
    attacker.insert_entry(0, SHARD0_SIZE, event_id, _leaf_of(message, shard=0, seq=SHARD0_SIZE))
    attacker.cover_tracks(0)


# --- 4. two rows swapped ----------------------------------------------------------------------


@pytest.mark.parametrize(("shard", "i", "j"), [(0, 6, 15), (0, 19, 12), (1, 2, 0)])
def test_swapped_rows_break_the_chain_at_the_first_of_them(
    ledger: BuiltLedger, attacker: Attacker, shard: int, i: int, j: int
) -> None:
    attacker.swap_entries(shard, i, j)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard {shard} seq {min(i, j)}", "chain_break")


def test_swapped_rows_under_a_rebuilt_chain_are_misplaced(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    attacker.swap_entries(0, 15, 6)
    attacker.cover_tracks(0)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == ("shard 0 seq 6", "misplaced_entry")
    assert detail == "leaf says shard 0 seq 15"


def test_swapped_trust_event_fails_the_trust_replay_at_its_position(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    # the farm's key registration now comes before the farm is registered
    attacker.swap_entries(TRUST_SHARD, 0, 1)

    where, problem, _ = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard {TRUST_SHARD} seq 0", "bad_trust_event")


# --- 5. a checkpoint replaced -----------------------------------------------------------------


def test_older_checkpoint_stored_under_a_larger_size(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    older = attacker.checkpoint_note(0, FIRST_CHECKPOINT)
    attacker.replace_checkpoint(0, SHARD0_SIZE, older)

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE - 1}", "checkpoint_mismatch")
    assert detail == (f"checkpoint stored at size {SHARD0_SIZE} is for size {FIRST_CHECKPOINT}")


def test_checkpoint_signed_by_the_ledger_key_for_another_tree(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    signer = ledger.signer()
    stored = open_checkpoint(attacker.checkpoint_note(0, SHARD0_SIZE), signer.verifier)
    other = dataclasses.replace(stored, root_hash=hashlib.sha256(b"another tree").digest())
    attacker.replace_checkpoint(0, SHARD0_SIZE, sign_checkpoint(other, signer))

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE - 1}", "checkpoint_mismatch")
    assert detail == f"signed checkpoint at size {SHARD0_SIZE} commits to another tree"


def test_checkpoint_of_another_shard_stored_under_this_one(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    signer = ledger.signer()
    foreign = open_checkpoint(attacker.checkpoint_note(1, 3), signer.verifier)
    moved = dataclasses.replace(foreign, size=FIRST_CHECKPOINT)
    attacker.replace_checkpoint(0, FIRST_CHECKPOINT, sign_checkpoint(moved, signer))

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {FIRST_CHECKPOINT - 1}", "checkpoint_mismatch")
    assert "shard/1" in detail


def test_ledger_cut_back_with_its_checkpoints_is_caught_by_a_checkpoint_the_auditor_kept(
    ledger: BuiltLedger, attacker: Attacker, tmp_path: Path
) -> None:
    kept = tmp_path / "checkpoint-20.txt"
    kept.write_text(attacker.checkpoint_note(0, SHARD0_SIZE))
    attacker.delete_entry(0, SHARD0_SIZE - 1)
    attacker.delete_entry(0, SHARD0_SIZE - 2)
    attacker._run("DELETE FROM checkpoints WHERE shard = 0 AND size = :size", {"size": SHARD0_SIZE})
    attacker.cover_tracks(0)

    # Nothing inside the database contradicts the shortened ledger any more …
    assert _verify(ledger).exit_code == 0
    # … but a checkpoint held outside it does.
    where, problem, detail = _first_finding(_verify(ledger, "--checkpoint", str(kept)))

    assert (where, problem) == (f"shard 0 seq {SHARD0_SIZE - 1}", "rolled_back")
    assert detail == f"the checkpoint you hold shows {SHARD0_SIZE} entries; the ledger has 18"


def test_a_held_checkpoint_must_carry_the_ledger_key(
    ledger: BuiltLedger, attacker: Attacker, tmp_path: Path
) -> None:
    forged = tmp_path / "forged.txt"
    impostor = NoteSigner.generate(ledger.signer().name)
    body = Checkpoint.parse(_note_text(attacker.checkpoint_note(0, FIRST_CHECKPOINT)))
    forged.write_text(sign_checkpoint(body, impostor))

    result = _verify(ledger, "--checkpoint", str(forged))

    assert result.exit_code == 2
    assert "not a checkpoint signed by the ledger key" in result.output


# --- 6. a checkpoint signed with another key --------------------------------------------------


def test_checkpoint_signed_with_another_key_of_the_same_name(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    impostor = NoteSigner.generate(ledger.signer().name)
    body = Checkpoint.parse(_note_text(attacker.checkpoint_note(0, FIRST_CHECKPOINT)))
    attacker.replace_checkpoint(0, FIRST_CHECKPOINT, sign_checkpoint(body, impostor))

    where, problem, detail = _first_finding(_verify(ledger))

    assert (where, problem) == (f"shard 0 seq {FIRST_CHECKPOINT - 1}", "bad_checkpoint_signature")
    assert detail.startswith(f"checkpoint at size {FIRST_CHECKPOINT}: ")


def test_replaced_ledger_key_is_caught_by_an_auditor_with_the_real_one(
    ledger: BuiltLedger, attacker: Attacker
) -> None:
    """The attacker also records their own key as the ledger's and re-signs every checkpoint;
    an auditor passing the published ``ledger.pub`` is not fooled."""
    impostor = NoteSigner.generate(ledger.signer().name)
    attacker.set_meta("ledger_verifier", impostor.verifier.to_key())
    for shard, size in [(0, FIRST_CHECKPOINT), (0, SHARD0_SIZE), (1, SHARD1_SIZE)]:
        body = Checkpoint.parse(_note_text(attacker.checkpoint_note(shard, size)))
        attacker.replace_checkpoint(shard, size, sign_checkpoint(body, impostor))

    where, problem, _ = _first_finding(_verify(ledger, "--ledger-pubkey", str(ledger.ledger_pub)))

    assert (where, problem) == (f"shard 0 seq {FIRST_CHECKPOINT - 1}", "bad_checkpoint_signature")


def _note_text(note: str) -> str:
    """The signed text of a note: everything before the blank line (c2sp.org/signed-note)."""
    return note.split("\n\n", 1)[0] + "\n"


# --- 7. the control case and the command's own errors -----------------------------------------


@pytest.mark.parametrize("independent", [False, True], ids=["recorded-keys", "own-keys"])
def test_untampered_ledger_passes(ledger: BuiltLedger, independent: bool) -> None:
    own_keys = [
        "--ledger-pubkey", str(ledger.ledger_pub), "--root-key", str(ledger.regulator_pub),
        "--regulator", ledger.world.scenario.regulator_uscc,
    ]  # fmt: skip
    result = _verify(ledger, *(own_keys if independent else []))

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"OK: {TRUST_SIZE + SHARD0_SIZE + SHARD1_SIZE} entries in 3 shard(s), "
        f"{BATCH_SIGNATURES} batch signature(s), {CHECKPOINTS} checkpoint(s) verified"
    )


@pytest.mark.parametrize("method", ["fork", "forkserver"])
@pytest.mark.parametrize("tamper", ["none", "signature", "rows"])
def test_worker_processes_report_what_one_process_reports(
    ledger: BuiltLedger,
    attacker: Attacker,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    tamper: str,
) -> None:
    """Both ways workers start: a fork (a process running no other thread) and a fork server
    (``suyuan verify``, whose progress display runs a thread). Chunks of 4 entries: ranges of
    8 in one process, of 4 in two; the whole report must match, the count of batch
    signatures verified before a gap included."""
    if tamper == "signature":
        leaf = attacker.leaf(0, 7)
        attacker.update_entry(0, 7, leaf=_flip(leaf, _byte_inside(leaf, "signature")))
        attacker.cover_tracks(0)
    elif tamper == "rows":
        attacker.delete_entry(0, 10)
        attacker.delete_entry(0, 11)
    store = SqlLedgerStore.from_url(ledger.url)
    verifier = ledger_verifier(store)
    monkeypatch.setattr(audit_module, "_CHUNK", 4)
    monkeypatch.setattr(audit_module, "_PARALLEL_FROM", {method: 0})
    monkeypatch.setattr(audit_module, "_start_method", lambda: method)

    def audit(jobs: int) -> AuditReport:
        auditor = Auditor(store, verifier, root_keys(store), ledger_name=verifier.name, jobs=jobs)
        return auditor.run()

    try:
        alone, split = audit(1), audit(2)
    finally:
        store.close()

    assert (alone.jobs, split.jobs) == (1, 2)
    assert dataclasses.replace(split, jobs=1) == alone
    assert alone.ok == (tamper == "none")


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_worker_process_that_dies_ends_the_audit_with_an_error(
    pristine: BuiltLedger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, method: str
) -> None:
    """A worker process that ends before it answers — here it cannot open the ledger, so its
    start fails — ends the audit with an error that says so, not with a wait for ever."""
    monkeypatch.setattr(audit_module, "_CHUNK", 4)
    monkeypatch.setattr(audit_module, "_PARALLEL_FROM", {method: 0})
    monkeypatch.setattr(audit_module, "_start_method", lambda: method)
    nowhere = f"sqlite:///{tmp_path / 'missing' / 'ledger.sqlite'}"
    monkeypatch.setattr(audit_module.Auditor, "_store_url", lambda _self: nowhere)
    store = SqlLedgerStore.from_url(pristine.url)
    verifier = ledger_verifier(store)
    try:
        auditor = Auditor(store, verifier, root_keys(store), ledger_name=verifier.name, jobs=2)
        with pytest.raises(LedgerError, match="worker process of the audit ended"):
            auditor.run()
    finally:
        store.close()
    result = runner.invoke(app, ["verify", "--db", pristine.url, "--jobs", "2"])
    assert result.exit_code == 2, result.output
    assert "worker process of the audit ended before its range was checked" in result.output


def test_verify_without_a_ledger_fails_with_a_clear_message(
    pristine: BuiltLedger, tmp_path: Path
) -> None:
    if pristine.admin_url is None:
        url = f"sqlite:///{tmp_path / 'nothing.sqlite'}"
        result = runner.invoke(app, ["verify", "--db", url])
        expected = f"error: no ledger at {url} (create one with `suyuan ledger init`)"
        assert not (tmp_path / "nothing.sqlite").exists(), "verify must not create a database"
    else:
        with _postgres_database(pristine.admin_url) as url:
            result = runner.invoke(app, ["verify", "--db", url])
        expected = f"error: {url} holds no Suyuan ledger (create one with `suyuan ledger init`)"

    assert result.exit_code == 2
    assert result.output.strip() == expected


def test_prove_of_an_unknown_event_id_names_it(ledger: BuiltLedger) -> None:
    unknown = str(uuid.uuid4())
    result = runner.invoke(
        app, ["prove", unknown, "--db", ledger.url, "--ledger-key", str(ledger.ledger_key)]
    )

    assert result.exit_code == 1
    assert result.output.strip() == (f"error: no ledger entry has event id {unknown!r}")
