"""Each shard served as a C2SP tlog-tiles log, checked by a verifier written from the
specifications alone (tests/c2sp_verifier.py), as a mirror or an auditor with standard tools
would check it."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest

from suyuan.events import decode_event
from suyuan.ledger import Leaf
from suyuan.scenario import vegetable_certificate
from tests import c2sp_verifier as spec
from tests.integration.test_trace_api import Query, start_query

ADDED = 200  # the demo's shard 0 holds about a hundred entries: this passes 256


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Query]:
    tmp = tmp_path_factory.mktemp("tiles")
    for query in start_query(f"sqlite:///{tmp / 'ledger.sqlite'}", tmp):
        s = query.scenario
        lots = [s.unit_code(item="10077", lot=f"T{i:04d}") for i in range(ADDED)]
        events = [vegetable_certificate(s, query.importer, lot) for lot in lots]
        for start in range(0, ADDED, 50):
            query.append(query.importer.key, events[start : start + 50])
        assert query.client.app.state.context.ledger.sign_moved() >= 1
        yield query


def _fetch(query: Query, token: str | None = None) -> Any:
    def fetch(path: str) -> bytes:
        answer = query.get(f"/log/0/{path}", token)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers["content-type"] == "application/octet-stream"
        return bytes(answer.content)

    return fetch


def test_a_mirror_rebuilds_the_signed_root_from_public_tiles(log: Query) -> None:
    answer = log.get("/log/0/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=2"
    tree = spec.open_checkpoint(answer.text, spec.parse_verifier_key(log.verifier.to_key()))
    assert tree.origin == "test.local/ledger/shard/0"
    assert tree.size > 256  # a full level-0 tile, a partial one and a level-1 tile

    leaves = spec.root_from_tiles(tree, _fetch(log))
    assert len(leaves) == tree.size

    tile = log.get("/log/0/tile/0/000")
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert log.get("/log/0/tile/1/000.p/1").content == spec.mth(leaves[:256])


def test_a_regulator_s_entry_bundles_hash_to_the_tiles(log: Query) -> None:
    tree = spec.open_checkpoint(
        log.get("/log/0/checkpoint").text, spec.parse_verifier_key(log.verifier.to_key())
    )
    leaves = spec.root_from_tiles(tree, _fetch(log))
    entries: list[bytes] = []
    for n in range((tree.size + 255) // 256):
        width = min(256, tree.size - n * 256)
        path = spec.tile_path("entries", n, width)
        answer = log.get(f"/log/0/{path}", log.regulator_token)
        assert answer.status_code == 200, answer.text
        entries += spec.split_bundle(answer.content)
    assert [spec.leaf_hash(e) for e in entries] == leaves
    # Each entry is a ledger leaf holding a signed event.
    assert decode_event(Leaf.from_bytes(entries[-1]).event).event_type == "CertificateIssued"


def test_entry_bundles_are_compressed_when_asked(log: Query) -> None:
    plain = log.client.get(
        "/log/0/tile/entries/000",
        headers={"Authorization": f"Bearer {log.admin_token}", "Accept-Encoding": "identity"},
    )
    raw = log.client.stream(
        "GET",
        "/log/0/tile/entries/000",
        headers={"Authorization": f"Bearer {log.admin_token}", "Accept-Encoding": "gzip"},
    )
    with raw as answer:
        assert answer.headers["content-encoding"] == "gzip"
        body = b"".join(answer.iter_raw())
    assert gzip.decompress(body) == plain.content
    assert len(body) < len(plain.content)


def test_entry_bundles_hold_full_events_so_only_overseers_get_them(log: Query) -> None:
    public = log.get("/log/0/tile/entries/000")
    assert public.status_code == 401
    producer = log.get("/log/0/tile/entries/000", log.farm_token)
    assert producer.status_code == 403
    assert producer.json()["reason"] == "forbidden"


def test_a_receipt_verifies_with_the_independent_verifier(log: Query) -> None:
    event_id = log.event_id("CertificateIssued", log.importer.uscc)
    answer = log.get(f"/v1/ledger/proof/{event_id}", log.regulator_token)
    assert answer.status_code == 200
    key = spec.parse_verifier_key(log.verifier.to_key())
    tree, index, entry = spec.verify_tlog_proof(answer.text, key)
    assert entry == log.leaf_of(event_id)
    # The same leaf hash sits at that index of the public tiles.
    leaves = spec.root_from_tiles(tree, _fetch(log))
    assert leaves[index] == spec.leaf_hash(entry)

    forged = answer.text.replace("index ", "index 1", 1)
    with pytest.raises(spec.VerificationFailedError):
        spec.verify_tlog_proof(forged, key)


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/log/0/tile/0/1", 400, "malformed_tile_path"),
        ("/log/0/tile/0/x000/001", 400, "malformed_tile_path"),
        ("/log/0/tile/0/000.p/256", 400, "malformed_tile_path"),
        ("/log/0/tile/0/999", 404, "not_found"),  # beyond the newest checkpoint
        ("/log/0/tile/2/000.p/1", 404, "not_found"),
        ("/log/7/tile/0/000", 404, "not_found"),  # no such shard
        ("/log/7/checkpoint", 404, "not_found"),
        ("/log/-1/checkpoint", 422, None),
    ],
)
def test_a_tile_that_is_not_there_is_a_clear_4xx(
    log: Query, path: str, status: int, reason: str | None
) -> None:
    answer = log.get(path)
    assert answer.status_code == status, answer.text
    if reason is not None:
        assert answer.json()["reason"] == reason
        assert answer.json()["field"] in {"path", "shard"}


def test_a_partial_tile_appears_only_once_a_checkpoint_covers_it(log: Query) -> None:
    tree = spec.open_checkpoint(
        log.get("/log/0/checkpoint").text, spec.parse_verifier_key(log.verifier.to_key())
    )
    width = tree.size % 256
    covered = log.get(f"/log/0/{spec.tile_path(0, tree.size // 256, width)}")
    assert covered.status_code == 200
    one_more = log.get(f"/log/0/{spec.tile_path(0, tree.size // 256, width + 1)}")
    assert one_more.status_code == 404
    assert "newest checkpoint" in one_more.json()["rule"]
