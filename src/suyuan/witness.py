"""A transparency-log witness: cosigns a ledger's checkpoints only when each is consistent with
every one it cosigned before (docs/verification.md).

Protocol: https://c2sp.org/tlog-witness (``add-checkpoint``); cosignatures:
https://c2sp.org/tlog-cosignature. Anyone — a regulator of another province, an industry body,
a consumer organisation — can run one (``suyuan witness serve``); a checkpoint cosigned by a
quorum of independent witnesses cannot be one of two histories shown to different people,
unless the witnesses collude too.

The witness keeps, per log origin, only the latest checkpoint it cosigned, in a small SQLite
database; checking the old size and storing the new checkpoint happen in one write
transaction (``BEGIN IMMEDIATE``), so two concurrent requests can never roll it back.

A log is trusted by its ledger verifier key: the witness accepts every origin
``<key name>/shard/<n>`` signed by that key (one ledger, one log per shard).

The log's side is :class:`Witnessing`: when the ledger signs a checkpoint it asks each
configured witness to cosign it (with a consistency proof from the size that witness holds) and
stores the checkpoint with the cosignatures it got.

Errors: every refusal is a :class:`WitnessRefusedError` carrying the protocol's HTTP status (400
malformed, 403 no trusted signature, 404 unknown origin, 409 conflict — with the size the
witness holds —, 422 consistency proof fails). :class:`Witnessing` raises nothing for a witness
that is down or refuses: it logs and goes on without that cosignature.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from suyuan.errors import InvalidInputError, SuyuanError
from suyuan.ledger import Ledger
from suyuan.merkle import HASH_SIZE, verify_consistency
from suyuan.tlog import (
    Checkpoint,
    Cosigner,
    Note,
    NoteSignature,
    NoteVerifier,
    WitnessVerifier,
    add_cosignatures,
    open_checkpoint,
    witnessed,
)

log = logging.getLogger("suyuan.witness")

#: The protocol allows at most this many consistency proof lines.
MAX_PROOF_LINES = 63
#: Media type of a 409's body: the size the witness holds.
SIZE_TYPE = "text/x.tlog.size"
#: The largest tree size the state file holds (an SQLite INTEGER).
MAX_TREE_SIZE = 2**63 - 1
# At most 20 digits: a longer number cannot be a tree size, and Python refuses to read one of
# over 4,300 digits (a ValueError, not a refusal).
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")
_SHARD_ORIGIN = re.compile(r"(?P<name>.+)/shard/(0|[1-9][0-9]*)")


class WitnessRefusedError(SuyuanError):
    """The witness will not cosign: ``status`` is the protocol's HTTP status, ``body`` the
    answer's text (``media_type`` is ``text/plain`` except a 409's size)."""

    def __init__(self, status: int, message: str, *, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body if body is not None else message + "\n"
        self.media_type = SIZE_TYPE if body is not None else "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Submission:
    """An ``add-checkpoint`` request: the old size, the consistency proof, the checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str


def parse_submission(body: bytes) -> Submission:
    """Read an ``add-checkpoint`` body.

    Raises:
        WitnessRefusedError: 400 when it is not UTF-8, lacks the old line, has a bad proof line or
            more than 63, or no blank line before the checkpoint.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusedError(400, "the body must be UTF-8") from None
    head, blank, checkpoint = text.partition("\n\n")
    if not blank:
        raise WitnessRefusedError(400, "the body needs an empty line before the checkpoint")
    lines = head.split("\n")
    old = _OLD.fullmatch(lines[0])
    if old is None:
        raise WitnessRefusedError(
            400, "the first line must be 'old <size>' (decimal, no leading zero)"
        )
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusedError(400, f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            hashed = base64.b64decode(line, validate=True)
        except binascii.Error:
            hashed = b""
        if len(hashed) != HASH_SIZE:
            raise WitnessRefusedError(400, f"proof line {line[:60]!r} is not a base64 SHA-256 hash")
        proof.append(hashed)
    return Submission(int(old.group(1)), tuple(proof), checkpoint)


def submission_body(old_size: int, proof: Sequence[bytes], checkpoint: str) -> bytes:
    """The ``add-checkpoint`` body a log sends."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + checkpoint).encode()


class WitnessState:
    """The latest cosigned checkpoint per origin, in a SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS cosigned (origin TEXT PRIMARY KEY, size INTEGER NOT "
                "NULL, root BLOB NOT NULL, note TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def latest(self, origin: str) -> tuple[int, bytes, str] | None:
        """Size, root and note of the latest checkpoint cosigned for ``origin``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT size, root, note FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))

    def advance(
        self,
        origin: str,
        check: Callable[[tuple[int, bytes] | None], None],
        new: Checkpoint,
        note: str,
    ) -> None:
        """Within one write transaction: ``check(held)`` (raising to refuse), then store."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT size, root FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
            check(None if row is None else (int(row[0]), bytes(row[1])))
            db.execute(
                "INSERT INTO cosigned (origin, size, root, note) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
                "note = excluded.note",
                (origin, new.size, new.root_hash, note),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()


class Witness:
    """Cosigns the checkpoints of the ledgers whose verifier keys it trusts."""

    def __init__(
        self,
        cosigner: Cosigner,
        ledgers: Sequence[NoteVerifier],
        state: WitnessState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self._ledgers = {ledger.name: ledger for ledger in ledgers}
        self._state = state
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> str:
        """Check a submission and cosign its checkpoint: the cosignature line(s), each ending in
        a newline.

        Raises:
            WitnessRefusedError: see the module docstring.
        """
        submission = parse_submission(body)
        origin = submission.checkpoint.split("\n", 1)[0]
        shard_origin = _SHARD_ORIGIN.fullmatch(origin)
        ledger = self._ledgers.get(shard_origin.group("name")) if shard_origin else None
        if ledger is None:
            raise WitnessRefusedError(404, f"unknown log origin {origin[:120]!r}")
        try:
            checkpoint = open_checkpoint(submission.checkpoint, ledger, origin=origin)
        except InvalidInputError as err:
            if err.reason in {"bad_signature", "unverified_note"}:
                raise WitnessRefusedError(403, f"not signed by the log's key: {err.rule}") from None
            raise WitnessRefusedError(400, f"not a checkpoint: {err}") from None
        old = submission.old_size
        if checkpoint.size > MAX_TREE_SIZE:
            raise WitnessRefusedError(400, f"a tree size above {MAX_TREE_SIZE} is not witnessed")
        if old > checkpoint.size:
            raise WitnessRefusedError(400, f"old size {old} is larger than the checkpoint's")
        if old == 0 and submission.proof:
            raise WitnessRefusedError(400, "the consistency proof must be empty when old is 0")

        def check(held: tuple[int, bytes] | None) -> None:
            held_size, held_root = held or (0, b"")
            if old != held_size:
                raise WitnessRefusedError(
                    409,
                    f"the latest checkpoint cosigned has size {held_size}, not {old}",
                    body=f"{held_size}\n",
                )
            if held is None or old == 0:
                return
            if old == checkpoint.size:
                if held_root != checkpoint.root_hash:
                    raise WitnessRefusedError(
                        409,
                        f"another root at the size {old} cosigned before: a second history",
                        body=f"{held_size}\n",
                    )
                return
            try:
                verify_consistency(
                    old, checkpoint.size, held_root, checkpoint.root_hash, submission.proof
                )
            except ValueError as err:
                raise WitnessRefusedError(
                    422, f"not consistent with the tree of size {old} cosigned before: {err}"
                ) from None

        self._state.advance(origin, check, checkpoint, submission.checkpoint)
        text = Note.parse(submission.checkpoint).text
        line = self.cosigner.cosign(text, int(self._clock())).to_line()
        return line + "\n"

    def latest(self, origin: str) -> str | None:
        """The latest checkpoint cosigned for ``origin``, cosigned again now (the largest
        tree this witness has seen of that log, as of now), for monitors comparing views."""
        held = self._state.latest(origin)
        if held is None:
            return None
        note = held[2]
        text = Note.parse(note).text
        return add_cosignatures(note, [self.cosigner.cosign(text, int(self._clock()))])


# --- the log's side ---------------------------------------------------------------------------

#: ``post(url, body)`` → (HTTP status, answer text); raises ``OSError`` when unreachable.
Post = Callable[[str, bytes], tuple[int, str]]


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """A witness the log asks: its submission URL prefix and its public key."""

    url: str
    verifier: WitnessVerifier

    @classmethod
    def parse(cls, text: str) -> WitnessEndpoint:
        """``<url> <witness verifier key>``, as ``SUYUAN_WITNESSES`` lists them.

        Raises:
            ValueError: not a URL and a key separated by a space.
            NoteError: the key is not a witness verifier key.
        """
        url, _, key = text.strip().partition(" ")
        if not url.startswith(("http://", "https://")) or not key:
            raise ValueError(f"{text!r}: expected '<http(s) URL> <witness key>'")
        return cls(url.rstrip("/"), WitnessVerifier.from_key(key.strip()))


class Witnessing:
    """Asks witnesses to cosign the ledger's checkpoints (:meth:`cosign` is a
    :data:`suyuan.ledger.Cosign`)."""

    def __init__(self, ledger: Ledger, endpoints: Sequence[WitnessEndpoint], post: Post) -> None:
        self._ledger = ledger
        self._endpoints = tuple(endpoints)
        self._post = post
        self._held: dict[tuple[str, int], int] = {}

    @property
    def verifiers(self) -> list[WitnessVerifier]:
        return [endpoint.verifier for endpoint in self._endpoints]

    def cosign(self, shard: int, note: str) -> str:
        """``note`` with the cosignatures of every witness that cosigned it now (those already
        on it are kept)."""
        have = {c.witness for c in witnessed(note, self.verifiers)}
        text = Note.parse(note).text
        size = open_checkpoint(note, self._ledger.verifier).size
        lines = []
        for endpoint in self._endpoints:
            if endpoint.verifier in have:
                continue
            line = self._ask(endpoint, shard, note, text, size)
            if line is not None:
                lines.append(line)
        return add_cosignatures(note, lines) if lines else note

    def cosign_newest(self, shard: int) -> bool:
        """Ask the witnesses missing from the shard's newest stored checkpoint again (they were
        down, or the checkpoint was signed elsewhere); whether it gained a cosignature."""
        latest = self._ledger.latest_checkpoint(shard)
        if latest is None:
            return False
        note = latest[0]
        cosigned = self.cosign(shard, note)
        if cosigned == note:
            return False
        self._ledger.add_cosignatures(shard, cosigned)
        return True

    def _ask(
        self, endpoint: WitnessEndpoint, shard: int, note: str, text: str, size: int
    ) -> NoteSignature | None:
        key = (endpoint.url, shard)
        old = min(self._held.get(key, 0), size)
        for _ in range(2):  # a 409 tells the size the witness holds: one more try from there
            proof = self._ledger.consistency_proof(shard, old, size) if 0 < old < size else []
            try:
                status, answer = self._post(
                    f"{endpoint.url}/add-checkpoint", submission_body(old, proof, note)
                )
            except OSError as err:
                log.warning("witness %s unreachable for shard %d: %s", endpoint.url, shard, err)
                return None
            if status == 409 and answer.strip().isdigit() and int(answer) != old:
                old = int(answer)
                if old > size:
                    log.error(
                        "witness %s holds shard %d at size %d, beyond this checkpoint's %d",
                        endpoint.url,
                        shard,
                        old,
                        size,
                    )
                    return None
                continue
            if status != 200:
                log.warning(
                    "witness %s refused shard %d at size %d: %d %s",
                    endpoint.url,
                    shard,
                    size,
                    status,
                    answer.strip()[:200],
                )
                return None
            return self._accept(endpoint, key, answer, text, size)
        return None

    def _accept(
        self, endpoint: WitnessEndpoint, key: tuple[str, int], answer: str, text: str, size: int
    ) -> NoteSignature | None:
        for line in answer.splitlines():
            try:
                signature = NoteSignature.from_line(line)
            except InvalidInputError:
                continue
            if endpoint.verifier.timestamp(text, signature) is not None:
                self._held[key] = size
                return signature
        log.warning("witness %s answered no valid cosignature", endpoint.url)
        return None


def http_post(timeout: float = 5.0) -> Post:
    """A :data:`Post` over HTTP (httpx), unreachable as ``OSError``."""
    import httpx

    def post(url: str, body: bytes) -> tuple[int, str]:
        try:
            answer = httpx.post(url, content=body, timeout=timeout)
        except httpx.HTTPError as err:
            raise OSError(str(err)) from err
        return answer.status_code, answer.text

    return post
