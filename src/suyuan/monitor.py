"""A monitor: follows a ledger's shards from outside, through what any mirror can read.

Each shard is served as a c2sp.org/tlog-tiles log (``/log/{shard}/…``, docs/http-query.md).
For each shard the monitor holds the last tree it verified — size, root and the frontier of
perfect subtrees (:class:`suyuan.merkle.Frontier`), a few hundred bytes — and on each poll:

1. fetches the checkpoint: it must carry the ledger key's signature and the shard's origin
   (``bad_checkpoint``) and, when witnesses are given, a quorum of their cosignatures
   (``no_witness_quorum``);
2. a tree smaller than the one held is ``rolled_back``; the same size with another root, or a
   larger tree whose leaves (read from the level-0 tiles) do not extend the held frontier to the
   new root, is ``forked`` — the log showed two histories (a split view, or history rewritten);
3. with entry bundles (a regulator or admin token) and the regulator root keys, it also checks
   each new entry: it hashes to its tile's leaf hash (``entry_mismatch``), parses
   (``bad_leaf``), and its signer could sign it when it was judged, with a valid signature
   (``unknown_key``, ``revoked_key``, ``wrong_signer``, ``bad_signature`` — the audit's own
   check, :class:`suyuan.ledger.SignatureChecker`, fed by the trust shard's entries in trust
   order).

A finding is not fatal: the held tree stays where it was, so the alarm repeats on every poll
until someone looks. A resource that cannot be fetched is ``unreachable`` — it proves nothing
either way. The held trees survive restarts (:meth:`LogMonitor.state_json`); the trust state is
replayed from the trust shard on start.

Errors: :class:`FetchError` (raised by the ``fetch`` callable the caller provides).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from suyuan.errors import InvalidInputError, SignatureError, SuyuanError
from suyuan.events import decode_event
from suyuan.ledger import TRUST_SHARD, Leaf, SignatureChecker, shard_origin
from suyuan.merkle import HASH_SIZE, Frontier, leaf_hash
from suyuan.signing import RootKey
from suyuan.tlog import (
    TILE_WIDTH,
    NoteVerifier,
    QuorumError,
    TileRef,
    WitnessVerifier,
    open_checkpoint,
    open_witnessed_checkpoint,
    split_entry_bundle,
)

#: ``fetch(path)``: the bytes at ``path`` below the ledger's base URL (``log/0/checkpoint``).
Fetch = Callable[[str], bytes]


class FetchError(SuyuanError):
    """A resource could not be fetched (network, 404, 503): proves nothing either way."""


@dataclass(frozen=True, slots=True)
class MonitorFinding:
    """One alarm: the shard, the problem (a short name) and what was seen."""

    shard: int
    problem: str
    detail: str

    def __str__(self) -> str:
        return f"shard {self.shard}: {self.problem}: {self.detail}"


@dataclass
class _Held:
    """The last tree of one shard the monitor verified."""

    frontier: Frontier = field(default_factory=Frontier)
    note: str | None = None
    checked: int = 0
    """Entries whose signatures were checked (only with entry bundles)."""

    @property
    def size(self) -> int:
        return self.frontier.size


class LogMonitor:
    """Follows the shards of one ledger; :meth:`poll` once per interval."""

    def __init__(
        self,
        fetch: Fetch,
        verifier: NoteVerifier,
        shards: Sequence[int],
        *,
        roots: Sequence[RootKey] = (),
        entries: bool = False,
        state: str | None = None,
        witnesses: Sequence[WitnessVerifier] = (),
        quorum: int = 0,
    ) -> None:
        """``entries``: also read the entry bundles (needs a regulator or admin token in
        ``fetch``) and, with ``roots``, check every entry's signature. ``witnesses`` and
        ``quorum``: a checkpoint fewer of them cosigned is ``no_witness_quorum``. ``state``:
        what :meth:`state_json` returned before a restart."""
        self._witnesses = tuple(witnesses)
        self._quorum = quorum
        self._fetch = fetch
        self._verifier = verifier
        self._shards = sorted(set(shards))
        self._entries = entries
        self._checker = SignatureChecker(roots) if entries and roots else None
        self._held: dict[int, _Held] = {shard: _Held() for shard in self._shards}
        if state:
            self._load(state)
        if self._checker is not None:
            # The trust state is not kept: it is replayed from the trust shard's first entry.
            self._held.setdefault(TRUST_SHARD, _Held()).checked = 0

    @property
    def sizes(self) -> dict[int, int]:
        """The verified tree size of each shard followed."""
        return {shard: held.size for shard, held in sorted(self._held.items())}

    def poll(self) -> list[MonitorFinding]:
        """Fetch each shard's newest checkpoint and verify it against the tree held.

        The trust shard goes first when signatures are checked, so event entries are judged
        against the freshest trust the log shows. Never raises for what the log serves.
        """
        findings: list[MonitorFinding] = []
        order = sorted(self._held, key=lambda shard: shard != TRUST_SHARD)
        for shard in order:
            try:
                findings += self._poll(shard)
            except FetchError as err:
                findings.append(MonitorFinding(shard, "unreachable", str(err)))
        return findings

    def state_json(self) -> str:
        """The held trees, to pass back as ``state`` after a restart."""
        return json.dumps(
            {
                str(shard): {
                    "frontier": base64.b64encode(held.frontier.to_bytes()).decode(),
                    "note": held.note,
                    "checked": held.checked,
                }
                for shard, held in sorted(self._held.items())
            },
            indent=2,
        )

    # --- one shard ----------------------------------------------------------------------------

    def _poll(self, shard: int) -> list[MonitorFinding]:
        held = self._held[shard]
        note = self._fetch(f"log/{shard}/checkpoint").decode("utf-8", "replace")
        origin = shard_origin(self._verifier.name, shard)
        try:
            checkpoint = open_checkpoint(note, self._verifier, origin=origin)
            if self._quorum:
                open_witnessed_checkpoint(note, self._verifier, self._witnesses, self._quorum)
        except QuorumError as err:
            return [MonitorFinding(shard, "no_witness_quorum", str(err))]
        except InvalidInputError as err:
            return [MonitorFinding(shard, "bad_checkpoint", str(err))]
        if checkpoint.size < held.size:
            return [
                MonitorFinding(
                    shard,
                    "rolled_back",
                    f"the log shows {checkpoint.size} entries; it showed {held.size} before",
                )
            ]
        hashes = self._leaf_hashes(shard, held.size, checkpoint.size)
        frontier = held.frontier.copy()
        frontier.extend(hashes)
        if frontier.root() != checkpoint.root_hash:
            return [
                MonitorFinding(
                    shard,
                    "forked",
                    f"the tree of size {checkpoint.size} does not extend the tree of size "
                    f"{held.size} verified before (a split view or rewritten history)",
                )
            ]
        held.frontier, held.note = frontier, note
        if not self._entries:
            return []
        return self._check_entries(shard, held)

    def _check_entries(self, shard: int, held: _Held) -> list[MonitorFinding]:
        start, end = held.checked, held.size
        if start >= end:
            return []
        findings: list[MonitorFinding] = []
        hashes = self._leaf_hashes(shard, start, end)
        for offset, entry in enumerate(self._bundled(shard, start, end)):
            seq = start + offset
            if leaf_hash(entry) != hashes[offset]:
                findings.append(
                    MonitorFinding(shard, "entry_mismatch", f"entry {seq} is not its tile's leaf")
                )
            elif not self._judge(shard, seq, entry, findings):
                break  # its writer had seen trust the trust shard does not show yet
            held.checked = seq + 1
        return findings

    def _judge(self, shard: int, seq: int, entry: bytes, findings: list[MonitorFinding]) -> bool:
        """Check one entry's signature; ``False`` when it must wait for more trust."""
        if self._checker is None:
            return True
        try:
            leaf = Leaf.from_bytes(entry)
            event = decode_event(leaf.event)
        except InvalidInputError as err:
            findings.append(MonitorFinding(shard, "bad_leaf", f"entry {seq}: {err}"))
            return True
        try:
            if shard == TRUST_SHARD:
                self._checker.apply_trust(seq + 1, leaf, event)
                return True
            if leaf.trust_size is not None and leaf.trust_size > self._checker.trust_size:
                return False
            self._checker.check(leaf, event)
        except SignatureError as err:
            findings.append(MonitorFinding(shard, err.reason, f"entry {seq}: {err}"))
        except SuyuanError as err:
            findings.append(MonitorFinding(shard, "bad_trust_event", f"entry {seq}: {err}"))
        return True

    # --- reading tiles ------------------------------------------------------------------------

    def _leaf_hashes(self, shard: int, start: int, end: int) -> list[bytes]:
        hashes: list[bytes] = []
        for ref in _refs(0, start, end):
            body = self._fetch(f"log/{shard}/{ref.path}")
            if len(body) != ref.width * HASH_SIZE:
                raise FetchError(f"{ref.path}: {len(body)} bytes for {ref.width} hashes")
            hashes += [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return hashes[start % TILE_WIDTH : start % TILE_WIDTH + end - start]

    def _bundled(self, shard: int, start: int, end: int) -> list[bytes]:
        entries: list[bytes] = []
        for ref in _refs(None, start, end):
            try:
                bundle = split_entry_bundle(self._fetch(f"log/{shard}/{ref.path}"))
            except InvalidInputError as err:
                raise FetchError(f"{ref.path}: {err}") from None
            if len(bundle) != ref.width:
                raise FetchError(f"{ref.path}: {len(bundle)} entries for {ref.width}")
            entries += bundle
        return entries[start % TILE_WIDTH : start % TILE_WIDTH + end - start]

    def _load(self, state: str) -> None:
        data: dict[str, Any] = json.loads(state)
        for key, value in data.items():
            frontier = Frontier.from_bytes(base64.b64decode(value["frontier"]))
            self._held[int(key)] = _Held(frontier, value.get("note"), int(value["checked"]))


def _refs(level: int | None, start: int, end: int) -> list[TileRef]:
    """The level-0 tiles (``level`` 0) or bundles (``None``) that hold entries start..end-1,
    each as wide as a tree of ``end`` entries makes it."""
    return [
        TileRef(level, n, min(TILE_WIDTH, end - n * TILE_WIDTH))
        for n in range(start // TILE_WIDTH, -(-end // TILE_WIDTH))
    ]
