"""Events and the verifiable ledger: positions, checkpoints, inclusion and consistency proofs.

- ``GET /v1/events/{event_id}``: the event, where it sits, and an RFC 9162 inclusion proof
  against a signed checkpoint;
- ``GET /v1/ledger/checkpoint``: the newest signed C2SP tlog-checkpoint of a shard;
- ``GET /v1/ledger/proof/{event_id}``: a C2SP tlog-proof receipt, as ``suyuan prove`` writes;
- ``GET /v1/ledger/consistency``: an RFC 9162 consistency proof between two tree sizes;
- ``GET /log/{shard}/checkpoint``, ``/log/{shard}/tile/…``: each shard as a C2SP tlog-tiles log
  (https://c2sp.org/tlog-tiles) that standard tools can mirror and audit; entry bundles only
  for regulators and admins (below).

Checkpoints are signed on a schedule and after this service appends, never because a client
asked (see ``LedgerAccess``): an entry newer than the newest checkpoint has no proof yet.

The leaf bytes hold the signed event in full, commercial details included, so they are given
(in ``leaf`` and in a receipt's ``extra`` line) only to callers who may see the event in full:
regulators, admins and the event's own organisation. Everyone else gets the leaf hash.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from suyuan.events import decode_event, event_to_json
from suyuan.events.model import Event
from suyuan.ledger import EntryNotFoundError, Leaf, LedgerStore
from suyuan.merkle import leaf_hash
from suyuan.qrsign import key_list
from suyuan.tlog import Receipt, TileError, TileRef, parse_tile_path
from suyuan.trace import PRIVATE_EVENT_TYPES, public_event_json
from suyuan_http import ApiError

from ._deps import ContextDep, OverseerDep, PrincipalDep, sees_in_full
from ._models import ConsistencyOut, EntryOut, ErrorOut, EventOut, InclusionProofOut

router = APIRouter(tags=["ledger"])

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_SHARD = 2**31 - 1
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The event id is not a UUID."},
    404: {"model": ErrorOut, "description": "No ledger entry has this event id."},
    429: {"model": ErrorOut, "description": "Too many requests from this address."},
}
_NO_KEY: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "No ledger key here, or no signed checkpoint covers it yet (Retry-After).",
    },
}
_CHECKPOINT_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
}
ShardQuery = Annotated[int, Query(ge=0, le=MAX_SHARD, description="Shard (log) number.")]
ShardPath = Annotated[int, Path(ge=0, le=MAX_SHARD, description="Shard (log) number.")]
#: A checkpoint moves; the specification asks that it not be cached beyond a few seconds.
_CHECKPOINT_CACHE = "public, max-age=2"
#: Tiles and bundles never change once served (a partial tile is its own resource).
_TILE_CACHE = "public, max-age=31536000, immutable"
_BUNDLE_CACHE = "private, max-age=31536000, immutable"
_TILE_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
    400: {"model": ErrorOut, "description": "Not the canonical path of a tile."},
    404: {"model": ErrorOut, "description": "No such shard, or no checkpoint covers the tile yet."},
    **_NO_KEY,
}


@router.get(
    "/v1/events/{event_id}",
    response_model=EventOut,
    responses={**_NOT_FOUND, 401: {"model": ErrorOut, "description": "A bad token."}},
    summary="An event, its ledger position and an inclusion proof",
)
def get_event(event_id: str, principal: PrincipalDep, context: ContextDep) -> EventOut:
    """The proof leads from `ledger.leaf_hash` at index `ledger.seq` to the root of the signed
    checkpoint `proof.checkpoint` (verify it with the ledger's public key). `proof` is null when
    this service holds no ledger key, or until the next scheduled checkpoint covers the entry."""
    shard, seq, leaf = _entry(context.store, event_id)
    event = decode_event(leaf.event)
    full = sees_in_full(principal, {event.actor})
    _refuse_private(event, full)
    leaf_bytes = leaf.to_bytes()
    proof = None
    covering = None if context.ledger.ledger is None else context.ledger.covering(shard, seq)
    if context.ledger.ledger is not None and covering is not None:
        note, checkpoint = covering
        path = context.ledger.ledger.inclusion_proof(shard, seq, checkpoint.size)
        proof = InclusionProofOut(
            checkpoint=note,
            tree_size=checkpoint.size,
            root_hash=_b64(checkpoint.root_hash),
            leaf_index=seq,
            leaf_hash=_b64(leaf_hash(leaf_bytes)),
            hashes=[_b64(h) for h in path],
        )
    return EventOut(
        event=_event_json(event, full=full),
        view="full" if full else "public",
        ledger=EntryOut(
            shard=shard,
            seq=seq,
            recorded_at=leaf.recorded_at.isoformat(),
            leaf_hash=_b64(leaf_hash(leaf_bytes)),
            leaf=_b64(leaf_bytes) if full else None,
        ),
        proof=proof,
    )


@router.get(
    "/v1/ledger/checkpoint",
    response_class=PlainTextResponse,
    responses={
        **_CHECKPOINT_TEXT,
        **_NO_KEY,
        404: {"model": ErrorOut, "description": "No such shard."},
    },
    summary="The newest signed checkpoint of a shard (C2SP tlog-checkpoint)",
)
def get_checkpoint(context: ContextDep, shard: ShardQuery = 0) -> PlainTextResponse:
    """The newest stored checkpoint: the service signs one every
    `SUYUAN_CHECKPOINT_INTERVAL_SECONDS` when entries were appended (only after proving it
    consistent with the previous one), never on request. 503 `no_checkpoint` with
    `Retry-After` before the first."""
    _known_shard(context.store, shard)
    return PlainTextResponse(context.ledger.newest_note(shard))


@router.get(
    "/v1/ledger/proof/{event_id}",
    response_class=PlainTextResponse,
    responses={**_CHECKPOINT_TEXT, **_NOT_FOUND, **_NO_KEY},
    summary="A C2SP tlog-proof receipt of one event, verifiable offline",
)
def get_receipt(event_id: str, principal: PrincipalDep, context: ContextDep) -> PlainTextResponse:
    """Check it with `suyuan verify-receipt FILE --key LEDGER_PUBKEY`. The `extra` line (the
    leaf bytes) is included for regulators, admins and the event's own organisation."""
    shard, seq, leaf = _entry(context.store, event_id)
    ledger = context.ledger.require()
    note, checkpoint = context.ledger.require_covering(shard, seq)
    event = decode_event(leaf.event)
    full = sees_in_full(principal, {event.actor})
    _refuse_private(event, full)
    receipt = Receipt(
        index=seq,
        proof=tuple(ledger.inclusion_proof(shard, seq, checkpoint.size)),
        checkpoint=note,
        extra=leaf.to_bytes() if full else None,
    )
    return PlainTextResponse(receipt.to_text())


@router.get(
    "/v1/ledger/consistency",
    response_model=ConsistencyOut,
    responses={
        400: {"model": ErrorOut, "description": "Sizes out of order or beyond the tree."},
        404: {"model": ErrorOut, "description": "No such shard."},
        **_NO_KEY,
    },
    summary="An RFC 9162 consistency proof between two sizes of a shard's tree",
)
def get_consistency(
    context: ContextDep,
    old: Annotated[int, Query(description="The older tree size.")],
    new: Annotated[int, Query(description="The newer tree size (at most the current size).")],
    shard: ShardQuery = 0,
) -> ConsistencyOut:
    ledger = context.ledger.require()
    size = _known_shard(context.store, shard)
    if not 0 <= new <= size:
        raise ApiError(400, "invalid_size", f"must be between 0 and the tree size {size}", "new")
    if not 0 <= old <= new:
        raise ApiError(400, "invalid_size", f"must be between 0 and new ({new})", "old")
    proof = [] if old in (0, new) else ledger.consistency_proof(shard, old, new)
    return ConsistencyOut(
        shard=shard,
        old_size=old,
        new_size=new,
        old_root=_b64(ledger.root_at(shard, old)),
        new_root=_b64(ledger.root_at(shard, new)),
        proof=[_b64(h) for h in proof],
    )


@router.get(
    "/log/{shard}/checkpoint",
    response_class=PlainTextResponse,
    responses={
        **_CHECKPOINT_TEXT,
        **_NO_KEY,
        404: {"model": ErrorOut, "description": "No such shard."},
    },
    summary="The shard's newest checkpoint, where a tlog-tiles client looks for it",
)
def get_log_checkpoint(context: ContextDep, shard: ShardPath) -> PlainTextResponse:
    """The same note as `GET /v1/ledger/checkpoint?shard=`, at the path c2sp.org/tlog-tiles
    gives it (`<prefix>/checkpoint`, the prefix being `/log/{shard}`), cacheable for two
    seconds."""
    _known_shard(context.store, shard)
    headers = {"Cache-Control": _CHECKPOINT_CACHE}
    return PlainTextResponse(context.ledger.newest_note(shard), headers=headers)


# Declared before the hash tiles: their path pattern would take `entries/…` too.
@router.get(
    "/log/{shard}/tile/entries/{path:path}",
    response_class=Response,
    responses={**_TILE_ERRORS, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    summary="An entry bundle of a shard (c2sp.org/tlog-tiles): regulators and admins",
)
def get_entry_bundle(
    context: ContextDep, caller: OverseerDep, request: Request, shard: ShardPath, path: str
) -> Response:
    """Up to 256 ledger leaves, each a big-endian uint16 length and the leaf bytes (its
    SHA-256 with a 0x00 prefix is the matching hash of the level-0 tile). A leaf holds the
    signed event in full, commercial details included, so bundles go only to regulator and
    admin tokens; the hash tiles and the checkpoint are public."""
    ref = _tile_ref(f"tile/entries/{path}")
    body = _tile(context, shard, ref)
    headers = {"Cache-Control": _BUNDLE_CACHE, "Vary": "Authorization, Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/octet-stream", headers=headers)


@router.get(
    "/log/{shard}/tile/{path:path}",
    response_class=Response,
    responses=_TILE_ERRORS,
    summary="A hash tile of a shard (c2sp.org/tlog-tiles)",
)
def get_tile(context: ContextDep, shard: ShardPath, path: str) -> Response:
    """`tile/<L>/<N>[.p/<W>]`: the Merkle Tree Hashes of 256 (or `W`) consecutive subtrees of
    256**L leaves, each 32 bytes. Served once the shard's newest checkpoint covers the tile;
    immutable after that."""
    ref = _tile_ref(f"tile/{path}")
    body = _tile(context, shard, ref)
    headers = {"Cache-Control": _TILE_CACHE}
    return Response(body, media_type="application/octet-stream", headers=headers)


@router.get(
    "/.well-known/suyuan/keys.json",
    summary="The key list: every trust event, each signed by a regulator root key",
)
def get_key_list(context: ContextDep) -> JSONResponse:
    """Organisations and their signing keys as the trust events registered and revoked them:
    each event's ledger leaf (base64), in trust order. A leaf holds a regulator root key's
    signature over its batch, so `suyuan verify-qr URL --keys keys.json --root-key …` checks a
    signed 合格证 QR with no network and without trusting this service."""
    headers = {"Cache-Control": "public, max-age=300"}
    return JSONResponse(key_list(context.store), headers=headers)


def _tile_ref(path: str) -> TileRef:
    try:
        return parse_tile_path(path)
    except TileError as err:
        raise ApiError(400, err.reason, err.rule, "path", err.value) from None


def _tile(context: ContextDep, shard: int, ref: TileRef) -> bytes:
    """Raises: ApiError 404 (no shard; not covered by a checkpoint yet, or a leaf too long
    for a bundle), 503 (no ledger key)."""
    _known_shard(context.store, shard)
    ledger = context.ledger.require()
    try:
        return ledger.tile(shard, ref)
    except EntryNotFoundError as err:
        raise ApiError(404, "not_found", str(err), "path", ref.path) from None
    except TileError as err:
        raise ApiError(
            404, "not_found", f"cannot be served: {err.rule}", "path", ref.path
        ) from None


def _entry(store: LedgerStore, event_id: str) -> tuple[int, int, Leaf]:
    wanted = event_id.strip().lower()
    if not _UUID.fullmatch(wanted):
        raise ApiError(
            400,
            "invalid_input",
            "must be a UUID (8-4-4-4-12 hex digits)",
            "event_id",
            event_id[:60],
        )
    try:
        shard, seq = store.locate(wanted)
    except EntryNotFoundError:
        raise ApiError(
            404, "not_found", f"no ledger entry has event id {wanted}", "event_id", wanted
        ) from None
    return shard, seq, store.entry(shard, seq).read_leaf()


def _refuse_private(event: Event, full: bool) -> None:
    """Raises: ApiError 404, as for an unknown id, when the caller may not see ``event`` at
    all (an adverse-event report): the public may not even learn that one exists."""
    if not full and event.event_type in PRIVATE_EVENT_TYPES:
        rule = f"no ledger entry has event id {event.event_id}"
        raise ApiError(404, "not_found", rule, "event_id", event.event_id)


def _known_shard(store: LedgerStore, shard: int) -> int:
    """The shard's size. Raises: ApiError 404 for a shard that has no head."""
    if shard not in store.shard_ids():
        raise ApiError(404, "not_found", f"the ledger has no shard {shard}", "shard", str(shard))
    return store.head(shard).size


def _event_json(event: Event, *, full: bool) -> dict[str, Any]:
    body = event_to_json(event)
    return body if full else public_event_json(body)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
