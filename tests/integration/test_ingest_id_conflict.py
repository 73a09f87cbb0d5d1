"""``POST /v1/events``: an event id taken by another organisation's event is an ``id_conflict``,
not a ``duplicate`` (docs/ledger.md, "Event ids")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from suyuan.auth import create_token
from suyuan.events import decode_event
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import TRUST_SHARD, Leaf
from suyuan.scenario import Organisation, vegetable_certificate
from tests.integration.test_ingest_api import Ingest, as_json, start_ingest, statuses


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[Ingest]:
    yield from start_ingest(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


@dataclasses.dataclass
class Rival:
    """Another registered producer, which signs its own batches."""

    org: Organisation
    token: str


@pytest.fixture
def rival(ingest: Ingest) -> Rival:
    s = ingest.world.scenario
    org = s.organisation("余杭区径山茶叶专业合作社", ["PRODUCER"], "330110", "余杭区径山镇")
    trust = s.registration(org)
    written = LedgerWriter(ingest.store, [s.root]).write(
        TRUST_SHARD, [Message("setup-rival", s.sign_as_root(trust))]
    )
    assert written.accepted == len(trust), written.rejections
    return Rival(org, create_token(ingest.store.engine, "producer", organisation=org.uscc))


def _results(response: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_an_id_used_first_by_another_organisation_refuses_the_event_as_id_conflict(
    ingest: Ingest, rival: Rival
) -> None:
    s = ingest.world.scenario
    taken = vegetable_certificate(s, rival.org, None)
    first = ingest.post_batch(s.sign(rival.org, [taken]), token=rival.token)
    own = as_json(ingest.world.certificate())
    own["event_id"] = taken.event_id

    response = ingest.post_json(own)

    assert statuses(first) == ["accepted"]
    assert response.status_code == 202
    [result] = _results(response)
    assert (result["status"], result["reason"], result["field"]) == (
        "rejected",
        "id_conflict",
        "event_id",
    )
    assert result["event_id"] == taken.event_id
    assert f"event id {taken.event_id} is taken by an event with other content" in result["rule"]
    # The ledger keeps the first event; the farm is told, and can list it later.
    leaf = Leaf.from_bytes(ingest.store.entry(*ingest.store.locate(taken.event_id)).leaf)
    assert decode_event(leaf.event).actor == rival.org.uscc
    assert ingest.store.head(0).duplicates == 0
    listed = ingest.client.get(
        "/v1/rejections", headers={"Authorization": f"Bearer {ingest.farm_token}"}
    ).json()["rejections"]
    assert [(r["reason"], r["event_id"]) for r in listed] == [("id_conflict", taken.event_id)]
    assert ingest.audit_ok()


def test_the_same_event_sent_again_is_still_a_duplicate_and_a_new_id_is_taken(
    ingest: Ingest, rival: Rival
) -> None:
    s = ingest.world.scenario
    taken = vegetable_certificate(s, rival.org, None)
    ingest.post_batch(s.sign(rival.org, [taken]), token=rival.token)
    own = as_json(ingest.world.certificate())
    # The same certificate under the taken id first: refused, it must not count as issued.
    conflicting = {**own, "event_id": taken.event_id}

    again = ingest.post_batch(s.sign(rival.org, [taken]), token=rival.token)
    mixed = ingest.post_json([conflicting, own])

    assert statuses(again) == ["duplicate"]
    assert [(r["status"], r["reason"]) for r in _results(mixed)] == [
        ("rejected", "id_conflict"),
        ("accepted", None),
    ]
    assert ingest.audit_ok()


def test_two_different_events_with_one_id_in_one_request_keep_the_first(ingest: Ingest) -> None:
    first = as_json(ingest.world.certificate())
    second = as_json(ingest.world.certificate())
    second["event_id"] = first["event_id"]

    response = ingest.post_json([first, second, first])

    assert [(r["status"], r["reason"]) for r in _results(response)] == [
        ("accepted", None),
        ("rejected", "id_conflict"),
        ("duplicate", None),
    ]
    assert "earlier in this write" in _results(response)[1]["rule"]
