"""End-to-end audit of a ledger (``suyuan verify``, design.md §6).

Reads every entry of every shard in order and checks, for each: the leaf parses and sits at its
own position, the hash chain continues, the event decodes and matches its index row, and the
batch signature verifies under a key the trust chain registered for the event's actor and had
not revoked. At the end of each shard the recomputed Merkle root, size and chain head must match
the stored head, and every checkpoint must carry the ledger key's signature and the root of the
recomputed tree at its size (which also makes consecutive checkpoints consistent).

Each finding names the shard and the sequence number of the first bad entry (or the checkpoint
size), and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from suyuan.errors import (
    InvalidInputError,
    RevokedKeyError,
    SignatureError,
    SuyuanError,
    UnknownKeyError,
    WrongSignerError,
)
from suyuan.events import decode_event
from suyuan.events.model import (
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    TRUST_EVENT_TYPES,
    Event,
    SignedBatch,
)
from suyuan.ledger._interface import TRUST_SHARD, LedgerStore, StoredEntry
from suyuan.ledger._leaf import Leaf
from suyuan.ledger._sql import GENESIS_CHAIN, chain_next
from suyuan.merkle import Frontier, leaf_hash
from suyuan.signing import (
    BatchProof,
    RootKey,
    TrustStore,
    batch_proof_from_path,
    batch_proofs,
    verify_batch_root,
)
from suyuan.tlog import Checkpoint, CheckpointError, NoteVerifier, open_checkpoint


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One thing wrong: where (shard, seq or checkpoint size) and what."""

    shard: int
    seq: int | None
    problem: str
    detail: str

    def __str__(self) -> str:
        where = f"shard {self.shard}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.problem}: {self.detail}"


@dataclass
class AuditReport:
    entries: int = 0
    shards: dict[int, int] = field(default_factory=dict)
    checkpoints: int = 0
    signatures: int = 0
    findings: list[AuditFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


#: Entries checked together (the events of one signed batch are checked as one when they fall
#: in the same chunk: batches hold at most a few thousand events).
_CHUNK = 4096


class _EnoughFindingsError(Exception):
    """Enough findings collected."""


class Auditor:
    """Audits a :class:`LedgerStore` against the ledger key and the regulator root keys."""

    def __init__(
        self,
        store: LedgerStore,
        ledger_verifier: NoteVerifier,
        roots: Sequence[RootKey],
        *,
        ledger_name: str,
        max_findings: int = 20,
        held_checkpoints: Sequence[Checkpoint] = (),
    ) -> None:
        """``held_checkpoints``: checkpoints the auditor kept from earlier (already opened with
        the ledger key); the ledger must still contain each of their trees — this catches a
        ledger cut back together with its stored checkpoints."""
        self._store = store
        self._held = tuple(held_checkpoints)
        self._verifier = ledger_verifier
        self._roots = tuple(roots)
        self._name = ledger_name
        self._max = max_findings
        self._repeated: dict[tuple[int, int], tuple[int, int]] = {}

    def total_entries(self) -> int:
        return sum(self._store.head(shard).size for shard in self._store.shard_ids())

    def run(self, progress: Callable[[int], None] | None = None) -> AuditReport:
        """Audit every shard. ``progress(n)`` is called as entries are checked."""
        report = AuditReport()
        # Every entry's row must hold its leaf's event id (index_mismatch), so an event stored
        # twice shows as a repeated row id, even when the unique index was dropped.
        self._repeated = self._store.repeated_event_ids()
        try:
            history = self._trust(report)
            for shard in self._store.shard_ids():
                self._shard(shard, history, report, progress)
        except _EnoughFindingsError:
            pass
        return report

    # --- trust ------------------------------------------------------------------------------

    def _trust(self, report: AuditReport) -> SignatureChecker:
        """Replay the trust events in trust order; trust events that fail are findings."""
        checker = SignatureChecker(self._roots)
        for number, (shard, seq) in enumerate(self._store.trust_positions(), start=1):
            entry = self._store.entry(shard, seq)
            try:
                leaf = Leaf.from_bytes(entry.leaf)
                checker.apply_trust(number, leaf, decode_event(leaf.event))
            except SuyuanError as err:
                self._find(report, shard, seq, "bad_trust_event", str(err))
        return checker

    # --- one shard ----------------------------------------------------------------------------

    def _shard(
        self,
        shard: int,
        history: SignatureChecker,
        report: AuditReport,
        progress: Callable[[int], None] | None,
    ) -> None:
        head = self._store.head(shard)
        checkpoints = self._checkpoints(shard, report)
        origin = f"{self._name}/shard/{shard}"
        held = {c.size: c.root_hash for c in self._held if c.origin == origin}
        trust_positions = {seq for s, seq in self._store.trust_positions() if s == shard}
        frontier = Frontier()
        chain = GENESIS_CHAIN
        expected = 0
        for entry, problems in self._checked_entries(shard, history, trust_positions):
            if entry.seq != expected:
                self._find(
                    report,
                    shard,
                    expected,
                    "missing_entry",
                    f"entries {expected}..{entry.seq - 1} are missing",
                )
                return
            hashed = leaf_hash(entry.leaf)
            chain = chain_next(chain, hashed)
            if chain != entry.chain_hash:
                self._find(
                    report,
                    shard,
                    entry.seq,
                    "chain_break",
                    "leaf bytes do not continue the hash chain (entry altered or moved)",
                )
                return
            frontier.append(hashed)
            for problem, detail in problems:
                self._find(report, shard, entry.seq, problem, detail)
            report.signatures = history.signatures
            held_root = held.pop(frontier.size, None)
            if held_root is not None and held_root != frontier.root():
                self._find(
                    report,
                    shard,
                    frontier.size - 1,
                    "forked_from_held_checkpoint",
                    f"the checkpoint you hold at size {frontier.size} commits to another tree",
                )
            root = checkpoints.pop(frontier.size, None)
            if root is not None and root != frontier.root():
                self._find(
                    report,
                    shard,
                    frontier.size - 1,
                    "checkpoint_mismatch",
                    f"signed checkpoint at size {frontier.size} commits to another tree",
                )
            expected += 1
            report.entries += 1
            if progress is not None:
                progress(1)
        report.shards[shard] = expected
        self._head(shard, head.size, head.root, head.chain_head, frontier, chain, report)
        for size in sorted(checkpoints):
            self._find(
                report,
                shard,
                size - 1,
                "checkpoint_beyond_ledger",
                f"signed checkpoint at size {size} but the ledger has {expected} entries",
            )
        for size in sorted(held):
            self._find(
                report,
                shard,
                size - 1,
                "rolled_back",
                f"the checkpoint you hold shows {size} entries; the ledger has {expected}",
            )

    def _checked_entries(
        self, shard: int, history: SignatureChecker, trust_positions: set[int]
    ) -> Iterator[tuple[StoredEntry, list[tuple[str, str]]]]:
        """Each entry of ``shard`` in order with what is wrong with its content (leaf, event,
        index rows, signature), checked a chunk at a time so that the events of one signed
        batch are checked together (:meth:`SignatureChecker.check_many`)."""
        chunk: list[StoredEntry] = []
        for entry in self._store.entries(shard):
            chunk.append(entry)
            if len(chunk) == _CHUNK:
                yield from self._check_chunk(shard, chunk, history, trust_positions)
                chunk = []
        yield from self._check_chunk(shard, chunk, history, trust_positions)

    def _check_chunk(
        self,
        shard: int,
        chunk: list[StoredEntry],
        history: SignatureChecker,
        trust_positions: set[int],
    ) -> Iterator[tuple[StoredEntry, list[tuple[str, str]]]]:
        problems: list[list[tuple[str, str]]] = []
        signed: list[tuple[int, Leaf, Event]] = []
        for number, entry in enumerate(chunk):
            found: list[tuple[str, str]] = []
            problems.append(found)
            parsed = self._content(shard, entry, trust_positions, found)
            if parsed is not None:
                signed.append((number, *parsed))
        errors = history.check_many([(leaf, event) for _, leaf, event in signed])
        for (number, _leaf, _event), error in zip(signed, errors, strict=True):
            if error is not None:
                problems[number].append((error.reason, str(error)))
        return zip(chunk, problems, strict=True)

    def _content(
        self,
        shard: int,
        entry: StoredEntry,
        trust_positions: set[int],
        found: list[tuple[str, str]],
    ) -> tuple[Leaf, Event] | None:
        """Check one entry's leaf, event and index rows, adding (problem, detail) to ``found``;
        the leaf and event when its signature is to be checked."""
        try:
            leaf = Leaf.from_bytes(entry.leaf)
        except InvalidInputError as err:
            found.append(("bad_leaf", str(err)))
            return None
        if (leaf.shard, leaf.seq) != (shard, entry.seq):
            found.append(("misplaced_entry", f"leaf says shard {leaf.shard} seq {leaf.seq}"))
            return None
        try:
            event = decode_event(leaf.event)
        except InvalidInputError as err:
            found.append(("bad_event", str(err)))
            return None
        if event.event_id != entry.event_id:
            found.append(
                ("index_mismatch", f"row says event {entry.event_id}, leaf holds {event.event_id}")
            )
        first = self._repeated.get((shard, entry.seq))
        if first is not None:
            found.append(
                (
                    "duplicate_event",
                    f"event {event.event_id} is already entry {first[1]} of shard {first[0]}",
                )
            )
        if event.event_type in TRUST_EVENT_TYPES and entry.seq not in trust_positions:
            found.append(
                ("trust_index_incomplete", f"{event.event_type} is missing from the trust index")
            )
        if leaf.trust_size is not None and (shard == TRUST_SHARD) != (
            event.event_type in TRUST_EVENT_TYPES
        ):
            found.append(
                (
                    "wrong_shard",
                    f"{event.event_type} on shard {shard}: trust events, and only they, belong "
                    f"on the trust shard {TRUST_SHARD}",
                )
            )
        return leaf, event

    # --- heads and checkpoints --------------------------------------------------------------

    def _checkpoints(self, shard: int, report: AuditReport) -> dict[int, bytes]:
        origin = f"{self._name}/shard/{shard}"
        roots: dict[int, bytes] = {}
        for stored in self._store.checkpoints(shard):
            report.checkpoints += 1
            try:
                body = open_checkpoint(stored.note, self._verifier, origin=origin)
            except InvalidInputError as err:
                # A well-signed note of another shard or ledger is a mismatch, not a forgery.
                problem = (
                    "checkpoint_mismatch"
                    if isinstance(err, CheckpointError)
                    else "bad_checkpoint_signature"
                )
                self._find(
                    report,
                    shard,
                    stored.size - 1,
                    problem,
                    f"checkpoint at size {stored.size}: {err}",
                )
                continue
            if body.size != stored.size:
                self._find(
                    report,
                    shard,
                    stored.size - 1,
                    "checkpoint_mismatch",
                    f"checkpoint stored at size {stored.size} is for size {body.size}",
                )
                continue
            roots[body.size] = body.root_hash
        return roots

    def _head(
        self,
        shard: int,
        size: int,
        root: bytes,
        chain_head: bytes,
        frontier: Frontier,
        chain: bytes,
        report: AuditReport,
    ) -> None:
        if frontier.size != size:
            self._find(
                report,
                shard,
                min(frontier.size, size),
                "head_mismatch",
                f"shard head says {size} entries, the ledger holds {frontier.size}",
            )
        elif frontier.root() != root:
            self._find(
                report,
                shard,
                None,
                "root_mismatch",
                "recomputed Merkle root differs from the shard head",
            )
        elif chain != chain_head:
            self._find(report, shard, None, "chain_break", "chain head differs from the shard head")

    def _find(
        self, report: AuditReport, shard: int, seq: int | None, problem: str, detail: str
    ) -> None:
        report.findings.append(AuditFinding(shard, seq, problem, detail))
        if len(report.findings) >= self._max:
            raise _EnoughFindingsError


class SignatureChecker:
    """Checks leaves' signatures against the trust chain as their writer saw it: the auditor's
    check, and a monitor's that follows the log from outside (:mod:`suyuan.monitor`).

    Trust events are applied in trust order with :meth:`apply_trust`; :meth:`check` then judges
    any leaf whose ``trust_size`` is at most :attr:`trust_size`. A batch signature is verified
    once, however many of its events are checked.
    """

    def __init__(self, roots: Sequence[RootKey]) -> None:
        self.trust = TrustStore(roots)
        self._history = _TrustHistory(self.trust)
        self._verified_batches: set[tuple[str, bytes, bytes]] = set()

    @property
    def trust_size(self) -> int:
        """The trust order number of the last trust event applied."""
        return self._history.size

    @property
    def signatures(self) -> int:
        """Batch signatures verified so far."""
        return len(self._verified_batches)

    def apply_trust(self, number: int, leaf: Leaf, event: Event) -> None:
        """Check trust event ``number`` (from 1, in trust order) and apply it.

        Raises:
            SignatureError: not signed by a root key, or the signature fails.
            SuyuanError: the trust store refuses the event; nothing is applied then.
        """
        self.check(leaf, event)
        self.trust.apply(event)
        self._history.applied(number, leaf, event)

    def check(self, leaf: Leaf, event: Event) -> None:
        """Whether ``leaf``'s signer could sign ``event`` when it was judged, and its batch
        signature verifies.

        Raises:
            UnknownKeyError, RevokedKeyError, WrongSignerError: see :meth:`_TrustHistory.check`.
            SignatureError: the batch signature does not verify.
        """
        self._history.check(leaf, event)
        self._verify(leaf, _proof_from_path(leaf))

    def check_many(self, leaves: Sequence[tuple[Leaf, Event]]) -> list[SignatureError | None]:
        """:meth:`check` of each leaf, what it raised (or ``None``) in order.

        The events of one signed batch found here in full are checked together: the batch's
        tree is built once from their events and must give every leaf its stored audit path,
        instead of one root computed per leaf (a batch only partly here, e.g. with an event
        refused or a duplicate, is checked leaf by leaf)."""
        errors: list[SignatureError | None] = [None] * len(leaves)
        batches: dict[tuple[str, bytes, int], list[int]] = {}
        for number, (leaf, event) in enumerate(leaves):
            try:
                self._history.check(leaf, event)
            except SignatureError as err:
                errors[number] = err
                continue
            batches.setdefault((leaf.key_id, leaf.signature, leaf.batch_size), []).append(number)
        for (_key_id, _signature, size), members in batches.items():
            whole = self._whole_batch([leaves[n][0] for n in members], size)
            for number in members:
                leaf = leaves[number][0]
                try:
                    proof = _proof_from_path(leaf) if whole is None else whole[leaf.batch_index]
                    self._verify(leaf, proof)
                except SignatureError as err:
                    errors[number] = err
        return errors

    @staticmethod
    def _whole_batch(members: list[Leaf], size: int) -> tuple[BatchProof, ...] | None:
        """The proofs of a batch whose every event is among ``members``, each leaf holding its
        proof's audit path; ``None`` otherwise (then each leaf is checked alone)."""
        if len(members) != size or sorted(m.batch_index for m in members) != list(range(size)):
            return None
        ordered = sorted(members, key=lambda m: m.batch_index)
        first = ordered[0]
        events = tuple(m.event for m in ordered)
        proofs = batch_proofs(SignedBatch(first.key_id, first.signature, events))
        if any(m.batch_path != p.audit_path for m, p in zip(ordered, proofs, strict=True)):
            return None
        return proofs

    def _verify(self, leaf: Leaf, proof: BatchProof) -> None:
        key = self.trust.key_for(leaf.key_id)
        cache_key = (leaf.key_id, leaf.signature, proof.root + proof.count.to_bytes(8, "big"))
        if cache_key not in self._verified_batches:
            verify_batch_root(proof, leaf.signature, key)
            self._verified_batches.add(cache_key)


def _proof_from_path(leaf: Leaf) -> BatchProof:
    """The batch proof a leaf's own audit path gives (raises SignatureError if it cannot)."""
    return batch_proof_from_path(leaf.event, leaf.batch_size, leaf.batch_index, leaf.batch_path)


class _TrustHistory:
    """When each signing key became usable and stopped being usable, in trust order.

    A second-format leaf records how many trust events its writer had applied
    (``trust_size``): its key must have been registered by then and not yet revoked — exactly
    what the writer decided. First-format leaves carry no such number; they are judged by time
    of recording, as they were written.
    """

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self.size = 0
        self._registered: dict[str, int] = {}
        self._revoked: dict[str, tuple[int, datetime]] = {}

    def applied(self, number: int, leaf: Leaf, event: Event) -> None:
        """Trust event ``number`` (from 1, in trust order) was applied."""
        self.size = number
        key_id = str(event.payload.get("key_id", ""))
        if event.event_type == SIGNING_KEY_REGISTERED:
            self._registered.setdefault(key_id, number)
        elif event.event_type == SIGNING_KEY_REVOKED:
            self._revoked.setdefault(key_id, (number, leaf.recorded_at))

    def check(self, leaf: Leaf, event: Event) -> None:
        """Whether ``leaf``'s key could sign ``event`` when it was judged.

        Raises:
            UnknownKeyError: the key was registered only after the event was judged.
            RevokedKeyError: the key was revoked before the event was judged.
            WrongSignerError: a root key signed a non-trust event, a registered key a trust
                event, or the key belongs to another organisation than the event's actor.
        """
        trust = self.trust
        if trust.is_root(leaf.key_id):
            if event.event_type not in TRUST_EVENT_TYPES:
                raise WrongSignerError("key_id", leaf.key_id, "root keys sign only trust events")
            return
        if event.event_type in TRUST_EVENT_TYPES:
            raise WrongSignerError(
                "key_id", leaf.key_id, "trust events must be signed by a regulator root key"
            )
        owner = trust.organisation_of(leaf.key_id)
        if owner != event.actor:
            raise WrongSignerError("actor", event.actor, f"key {leaf.key_id} belongs to {owner}")
        revoked = self._revoked.get(leaf.key_id)
        if leaf.trust_size is None:
            if revoked is not None and revoked[1] <= leaf.recorded_at:
                raise RevokedKeyError(
                    "key_id", leaf.key_id, f"was revoked at {revoked[1].isoformat()}"
                )
            return
        registered = self._registered.get(leaf.key_id, 0)
        if registered > leaf.trust_size:
            raise UnknownKeyError(
                "key_id",
                leaf.key_id,
                f"was registered by trust event {registered}, after the {leaf.trust_size} "
                "the writer had applied",
            )
        if revoked is not None and revoked[0] <= leaf.trust_size:
            raise RevokedKeyError(
                "key_id",
                leaf.key_id,
                f"was revoked by trust event {revoked[0]}, before the {leaf.trust_size} "
                "the writer had applied",
            )
