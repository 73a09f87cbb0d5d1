"""The HTTP capture API (design.md §5, §8) on a real ledger: SQLite, and once on PostgreSQL.

The app runs in-process (FastAPI's TestClient): no network. Organisations, keys and events come
from the Scenario of ``tests.ledger_world``; the regulator root key registers them.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.events import event_to_json
from suyuan.events.model import Event, thaw
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Auditor,
    Leaf,
    Ledger,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.signing import SigningKey, VerifyKey
from suyuan.tlog import NoteSigner
from suyuan_ingest.api import create_app
from tests.databases import fresh_database
from tests.ledger_world import World

BATCH_TYPE = "application/vnd.suyuan.batch+avro"


@dataclass
class Ingest:
    """A running capture API and the ledger behind it."""

    client: TestClient
    store: SqlLedgerStore
    world: World
    signer: NoteSigner
    custodial: VerifyKey
    farm_token: str
    market_token: str
    regulator_token: str

    def post_json(self, body: Any, token: str | None = None) -> Any:
        return self.client.post(
            "/v1/events",
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers=_headers(token or self.farm_token, "application/json"),
        )

    def post_batch(self, data: bytes, token: str | None = None) -> Any:
        return self.client.post(
            "/v1/events", content=data, headers=_headers(token or self.farm_token, BATCH_TYPE)
        )

    def audit_ok(self) -> bool:
        Ledger(self.store, self.signer).checkpoint(0)
        report = Auditor(
            self.store, self.signer.verifier, [self.world.scenario.root], ledger_name="test"
        ).run()
        return report.ok


def _headers(token: str | None, content_type: str) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def start_ingest(
    url: str, *, max_body_bytes: int | None = None, rate_limited: bool = True
) -> Iterator[Ingest]:
    """The ingest app on a ledger at ``url`` with a farm, a market and a regulator; without
    ``rate_limited`` the per-organisation limit is off (a fuzz run sends far past it)."""
    engine = create_ledger_engine(url)
    migrate(engine)
    store = SqlLedgerStore(engine)
    world = World()
    signer = NoteSigner.generate("test")
    initialise(store, signer.verifier, [world.scenario.root])
    master = secrets.token_bytes(32)
    custodial = create_custodial_key(engine, master, world.farm.uscc)
    s = world.scenario
    trust = [
        *s.registration(world.farm, world.market),
        key_registration_event(s.regulator_uscc, world.farm.uscc, custodial),
    ]
    setup = LedgerWriter(store, [s.root]).write(
        TRUST_SHARD, [Message("setup", s.sign_as_root(trust))]
    )
    assert setup.accepted == len(trust), setup.rejections
    app = create_app(
        Settings(database_url=url).model_copy(
            update={
                **dict(ingest_max_body_bytes=max_body_bytes or 8 * 1024 * 1024),
                **({} if rate_limited else dict(ingest_rate_limit_per_second=0.0)),
                **dict(custody_master_key=SecretStr(base64.b64encode(master).decode())),
            }
        )
    )
    with TestClient(app) as client:
        yield Ingest(
            client=client,
            store=store,
            world=world,
            signer=signer,
            custodial=custodial,
            farm_token=create_token(engine, "producer", organisation=world.farm.uscc),
            market_token=create_token(engine, "producer", organisation=world.market.uscc),
            regulator_token=create_token(engine, "regulator", region="330100"),
        )
    store.close()


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[Ingest]:
    yield from start_ingest(f"sqlite:///{tmp_path / 'ledger.sqlite'}")


def as_json(event: Event) -> dict[str, Any]:
    return event_to_json(event)


def statuses(response: Any) -> list[str]:
    return [r["status"] for r in response.json()["results"]]


# --- custodial JSON ------------------------------------------------------------------------------


def test_custodial_json_event_enters_the_ledger_signed_with_the_custodial_key(
    ingest: Ingest,
) -> None:
    event = ingest.world.certificate()

    response = ingest.post_json(as_json(event))

    assert response.status_code == 202
    body = response.json()
    assert body["committed"] is True
    assert body["results"] == [
        {
            "index": 0,
            "event_id": event.event_id,
            "status": "accepted",
            "reason": None,
            "field": None,
            "rule": None,
            "errors": [],
        }
    ]
    shard, seq = ingest.store.locate(event.event_id)
    leaf = Leaf.from_bytes(ingest.store.entry(shard, seq).leaf)
    assert leaf.key_id == ingest.custodial.key_id
    assert ingest.audit_ok()


def test_a_json_list_is_signed_as_one_batch(ingest: Ingest) -> None:
    events = [ingest.world.certificate() for _ in range(3)]

    response = ingest.post_json([as_json(e) for e in events])

    assert response.status_code == 202
    assert statuses(response) == ["accepted"] * 3
    leaves = [
        Leaf.from_bytes(ingest.store.entry(*ingest.store.locate(e.event_id)).leaf) for e in events
    ]
    assert {(leaf.batch_size, leaf.signature) for leaf in leaves} == {(3, leaves[0].signature)}
    assert [leaf.batch_index for leaf in leaves] == [0, 1, 2]
    assert ingest.audit_ok()


def test_a_resent_event_is_a_duplicate_and_stored_once(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())
    ingest.post_json(event)
    size = ingest.store.head(0).size

    response = ingest.post_json([event, event])

    assert response.status_code == 202
    assert statuses(response) == ["duplicate", "duplicate"]
    assert ingest.store.head(0).size == size


def test_invalid_event_among_valid_ones_is_rejected_alone_and_listed_for_its_org_only(
    ingest: Ingest,
) -> None:
    good = [ingest.world.certificate() for _ in range(2)]
    bad = as_json(ingest.world.certificate())
    bad["payload"]["category"] = "VEGETABLE"  # not a symbol of the enum

    response = ingest.post_json([as_json(good[0]), bad, as_json(good[1])])

    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["event_id"] == bad["event_id"]
    assert results[1]["field"] == "payload.category"
    assert results[1]["reason"] == "invalid_event"
    assert "VEGETABLES" in results[1]["rule"]
    for event in good:
        ingest.store.locate(event.event_id)

    listed = ingest.client.get("/v1/rejections", headers=_headers(ingest.farm_token, "x"))
    assert listed.status_code == 200
    [rejection] = listed.json()["rejections"]
    assert rejection["event_id"] == bad["event_id"]
    assert rejection["field"] == "payload.category"
    assert rejection["rule"] == results[1]["rule"]
    assert rejection["source"].endswith("body[1]")
    other = ingest.client.get("/v1/rejections", headers=_headers(ingest.market_token, "x"))
    assert other.json() == {"rejections": [], "next_cursor": None}


def test_content_rule_breaks_are_rejected_with_field_and_rule(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())
    event["payload"]["product_name"] = "菜" * 10_000  # a 10 kB string field

    response = ingest.post_json(event)

    assert response.status_code == 202
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["field"] == "payload.product_name"
    assert "200 characters" in result["rule"]


def test_event_of_another_organisation_is_rejected_naming_actor(ingest: Ingest) -> None:
    mine = ingest.world.certificate()
    theirs = ingest.world.certificate(upstream=(ingest.world.scenario.certificate_code(),))

    response = ingest.post_json([as_json(mine), as_json(theirs)])

    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["field"] == "actor"
    assert results[1]["reason"] == "wrong_signer"
    assert ingest.world.farm.uscc in results[1]["rule"]
    # Recorded for the token's organisation, never for the one it named.
    market = ingest.client.get("/v1/rejections", headers=_headers(ingest.market_token, "x"))
    assert market.json()["rejections"] == []
    farm = ingest.client.get("/v1/rejections", headers=_headers(ingest.farm_token, "x"))
    assert [r["field"] for r in farm.json()["rejections"]] == ["actor"]


def test_items_that_are_not_objects_are_rejected_one_by_one(ingest: Ingest) -> None:
    event = ingest.world.certificate()

    response = ingest.post_json([as_json(event), "not an event", 42])

    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert {r["field"] for r in results[1:]} == {"event"}
    assert results[1]["rule"] == "must be a JSON object"


def test_json_without_a_custodial_key_is_409_naming_the_way_out(ingest: Ingest) -> None:
    theirs = ingest.world.certificate(upstream=(ingest.world.scenario.certificate_code(),))

    response = ingest.post_json(as_json(theirs), token=ingest.market_token)

    assert response.status_code == 409
    assert response.json()["reason"] == "no_custodial_key"
    assert BATCH_TYPE in response.json()["rule"]


# --- client-signed Avro batches -----------------------------------------------------------------


def test_client_signed_batch_is_accepted_as_signed(ingest: Ingest) -> None:
    events = [ingest.world.certificate() for _ in range(2)]

    response = ingest.post_batch(ingest.world.farm_batch(events))

    assert response.status_code == 202
    assert [(r["index"], r["event_id"], r["status"]) for r in response.json()["results"]] == [
        (0, events[0].event_id, "accepted"),
        (1, events[1].event_id, "accepted"),
    ]
    leaf = Leaf.from_bytes(ingest.store.entry(*ingest.store.locate(events[0].event_id)).leaf)
    assert leaf.key_id == ingest.world.farm.key.key_id
    assert ingest.audit_ok()


def test_batch_signed_with_an_unregistered_key_rejects_every_event(ingest: Ingest) -> None:
    events = [ingest.world.certificate() for _ in range(2)]
    stranger = SigningKey.generate()

    response = ingest.post_batch(ingest.world.scenario.sign(stranger, events))

    assert response.status_code == 202
    results = response.json()["results"]
    assert [(r["event_id"], r["status"], r["reason"]) for r in results] == [
        (events[0].event_id, "rejected", "unknown_key"),
        (events[1].event_id, "rejected", "unknown_key"),
    ]
    listed = ingest.client.get("/v1/rejections", headers=_headers(ingest.farm_token, "x"))
    assert [r["reason"] for r in listed.json()["rejections"]] == ["unknown_key"]


def test_batch_of_another_organisation_is_refused_whole(ingest: Ingest) -> None:
    theirs = ingest.world.certificate(upstream=(ingest.world.scenario.certificate_code(),))
    data = ingest.world.scenario.sign(ingest.world.market, [theirs])

    response = ingest.post_batch(data)

    assert response.status_code == 422
    assert response.json()["field"] == "events[0].actor"
    assert response.json()["reason"] == "wrong_signer"
    with pytest.raises(LookupError):
        ingest.store.locate(theirs.event_id)


def test_bytes_that_are_not_a_batch_are_400(ingest: Ingest) -> None:
    response = ingest.post_batch(b"\xc3\x01 certainly not avro")

    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert response.json()["reason"] in {"undecodable", "unknown_schema"}


# --- authentication and roles -------------------------------------------------------------------


def test_no_token_is_401(ingest: Ingest) -> None:
    response = ingest.client.post(
        "/v1/events", content=b"{}", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 401
    assert response.json()["reason"] == "missing_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("token", "reason"),
    [("sy_" + "A" * 32, "unknown_token"), ("letmein", "malformed_token")],
)
def test_bad_tokens_are_401(ingest: Ingest, token: str, reason: str) -> None:
    response = ingest.post_json({}, token=token)

    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert token not in response.text


def test_revoked_token_is_401(ingest: Ingest) -> None:
    from suyuan.auth import revoke_token

    revoke_token(ingest.store.engine, ingest.farm_token)

    response = ingest.post_json(as_json(ingest.world.certificate()))

    assert response.status_code == 401
    assert response.json()["reason"] == "revoked_token"


def test_regulator_token_cannot_post_events(ingest: Ingest) -> None:
    response = ingest.post_json(as_json(ingest.world.certificate()), token=ingest.regulator_token)

    assert response.status_code == 403
    assert response.json()["reason"] == "forbidden"
    assert "producer" in response.json()["rule"]


def test_regulator_token_cannot_read_producer_rejections(ingest: Ingest) -> None:
    response = ingest.client.get(
        "/v1/rejections", headers=_headers(ingest.regulator_token, "application/json")
    )

    assert response.status_code == 403


# --- bad bodies: always 4xx with field and rule, never 5xx ---------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "reason", "rule_part"),
    [
        (b"{not json", 400, "invalid_json", "not JSON"),
        (b'{"a": 1} trailing', 400, "invalid_json", "not JSON"),
        (b"\xff\xfe{}", 400, "invalid_json", "UTF-8"),
        (b'"' + b"a" * 10_000 + b'"', 422, "invalid_event", "event"),
        (b"[]", 422, "invalid_event", "at least one"),
        (b"[NaN]", 400, "invalid_json", "NaN"),
        (b"[" * 100_000, 400, "invalid_json", ""),
        (b"", 400, "invalid_json", "not JSON"),
    ],
)
def test_malformed_json_is_4xx_naming_body_and_rule(
    ingest: Ingest, body: bytes, status: int, reason: str, rule_part: str
) -> None:
    response = ingest.client.post(
        "/v1/events", content=body, headers=_headers(ingest.farm_token, "application/json")
    )

    assert response.status_code == status
    error = response.json()
    assert error["reason"] == reason
    assert error["field"] == "body"
    assert rule_part in error["rule"]


def test_unknown_field_is_rejected_by_name(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())
    event["colour"] = "green"

    [result] = ingest.post_json(event).json()["results"]

    assert result["status"] == "rejected"
    assert result["field"] == "colour"
    assert "unknown field" in result["rule"]


def test_too_many_events_is_413(ingest: Ingest) -> None:
    event = as_json(ingest.world.certificate())

    response = ingest.post_json([event] * 1001)

    assert response.status_code == 413
    assert response.json()["reason"] == "too_many_events"


def test_unsupported_media_type_is_415(ingest: Ingest) -> None:
    response = ingest.client.post(
        "/v1/events", content=b"hello", headers=_headers(ingest.farm_token, "text/plain")
    )

    assert response.status_code == 415
    assert response.json()["field"] == "Content-Type"


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    for api in start_ingest(f"sqlite:///{tmp_path / 'l.sqlite'}", max_body_bytes=4096):
        event = as_json(api.world.certificate())
        event["payload"]["commitment"] = "x" * 5000

        response = api.post_json(event)

        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        problem = {
            "reason": "too_large",
            "field": "body",
            "rule": "the body must be at most 4096 bytes",
            "value": None,
        }
        assert response.json() == {
            "type": "urn:suyuan:problem:too_large",
            "title": "Too large",
            "status": 413,
            "detail": "the body must be at most 4096 bytes",
            "instance": "/v1/events",
            **problem,
            "errors": [problem],
        }
        # Without a Content-Length (chunked), the limit holds while reading.
        chunked = api.client.post(
            "/v1/events",
            content=iter([b"[" + b" " * 3000, b" " * 3000 + b"]"]),
            headers=_headers(api.farm_token, "application/json"),
        )
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=10), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    content_type=st.sampled_from(["application/json", BATCH_TYPE]),
)
def test_no_body_ever_causes_a_server_error(ingest: Ingest, body: bytes, content_type: str) -> None:
    response = ingest.client.post(
        "/v1/events", content=body, headers=_headers(ingest.farm_token, content_type)
    )

    assert response.status_code in {202, 400, 409, 413, 415, 422}
    answer = response.json()
    if response.status_code == 202:
        assert all(r["status"] == "rejected" and r["rule"] for r in answer["results"])
    else:
        assert answer["reason"] and answer["rule"] and "Traceback" not in response.text


# --- rejections, health, metrics, OpenAPI -------------------------------------------------------


def test_rejections_are_newest_first_and_limited(ingest: Ingest) -> None:
    for field in ("unit", "quantity", "occurred_at"):
        event = as_json(ingest.world.certificate())
        event[field] = 12  # never a number in the JSON form
        ingest.post_json(event)

    listed = ingest.client.get(
        "/v1/rejections?limit=2", headers=_headers(ingest.farm_token, "x")
    ).json()["rejections"]

    assert [r["field"] for r in listed] == ["occurred_at", "quantity"]
    assert set(listed[0]) == {"time", "reason", "field", "rule", "source", "event_id"}


def test_rejections_limit_over_500_is_422_naming_limit(ingest: Ingest) -> None:
    response = ingest.client.get(
        "/v1/rejections?limit=501", headers=_headers(ingest.farm_token, "x")
    )

    assert response.status_code == 422
    assert response.json()["field"] == "limit"
    assert response.json()["reason"] == "invalid_input"


def test_unknown_route_is_json_404(ingest: Ingest) -> None:
    response = ingest.client.get("/v1/nothing")

    assert response.status_code == 404
    assert response.json()["reason"] == "not_found"


def test_healthz(ingest: Ingest) -> None:
    assert ingest.client.get("/healthz").json() == {"status": "ok"}


def test_metrics_count_requests_by_route_and_events_by_reason(ingest: Ingest) -> None:
    bad = as_json(ingest.world.certificate())
    bad["unit"] = 12
    ingest.post_json([as_json(ingest.world.certificate()), bad])
    ingest.post_json({}, token="letmein")

    text = ingest.client.get("/metrics").text

    assert 'suyuan_http_events_total{reason="",status="accepted"} 1.0' in text
    assert 'suyuan_http_events_total{reason="invalid_event",status="rejected"} 1.0' in text
    assert 'suyuan_http_requests_total{method="POST",route="/v1/events",status="202"} 1.0' in text
    assert 'suyuan_http_requests_total{method="POST",route="/v1/events",status="401"} 1.0' in text


def test_openapi_publishes_routes_with_response_models(ingest: Ingest) -> None:
    spec = ingest.client.get("/openapi.json").json()

    post = spec["paths"]["/v1/events"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", BATCH_TYPE}
    assert post["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitResponse"
    }
    assert "ErrorOut" in spec["components"]["schemas"]
    assert "/v1/rejections" in spec["paths"]
    assert "token" in spec["components"]["securitySchemes"]


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def postgres_ingest(postgres_url: str) -> Iterator[Ingest]:
    with fresh_database(postgres_url, "ingest") as url:
        yield from start_ingest(url)


@pytest.mark.integration
def test_postgres_custodial_json_batch_and_rejections(postgres_ingest: Ingest) -> None:
    api = postgres_ingest
    good = as_json(api.world.certificate())
    bad = as_json(api.world.certificate())
    bad["event_id"] = "x" * 100  # longer than the rejections column: stored shortened

    response = api.post_json([good, bad, good])
    batch = api.post_batch(api.world.farm_batch([api.world.certificate()]))

    assert response.status_code == 202
    assert statuses(response) == ["accepted", "rejected", "duplicate"]
    assert statuses(batch) == ["accepted"]
    listed = api.client.get("/v1/rejections", headers=_headers(api.farm_token, "x")).json()
    assert [r["field"] for r in listed["rejections"]] == ["event_id"]
    assert api.audit_ok()


def test_trust_events_are_refused_at_the_door_so_nobody_moves_the_trust_topic(
    ingest: Ingest,
) -> None:
    s = ingest.world.scenario
    newcomer = s.organisation("建德市新安江蔬菜专业合作社", ["PRODUCER"], "330182", "建德市")
    # the farm's own "registration" of itself, custodially signed: JSON
    payload = {**thaw(s.registration(newcomer)[0].payload)}
    own = s.event(ingest.world.farm, "OrganisationRegistered", payload)
    # the regulator's real registration, root-signed: an Avro batch
    rooted = s.sign_as_root(s.registration(newcomer))

    as_json_body = ingest.post_json([as_json(own), as_json(ingest.world.certificate())])
    as_batch = ingest.post_batch(rooted)

    results = as_json_body.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert (results[0]["reason"], results[0]["field"]) == ("wrong_signer", "event_type")
    assert "trust topic" in results[0]["rule"]
    assert as_batch.status_code == 422
    assert as_batch.json()["field"] == "events[0].event_type"
    assert ingest.store.head(TRUST_SHARD).size == len(ingest.store.trust_positions())
    with pytest.raises(LookupError):
        ingest.store.locate(own.event_id)
