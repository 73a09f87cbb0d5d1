"""The trust chain: root keys, registered organisations and keys, revocation (design.md §5).

Events are built with the model dataclasses; the bytes a batch signs stand in for their encoded
form (the trust store never decodes: the caller passes the decoded events alongside).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from suyuan.errors import (
    EventValidationError,
    RevokedKeyError,
    SignatureError,
    UnknownKeyError,
    WrongSignerError,
)
from suyuan.events.model import (
    ORGANISATION_REGISTERED,
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    Event,
    Location,
    SignedBatch,
    freeze,
)
from suyuan.signing import (
    Organisation,
    RootKey,
    SigningKey,
    TrustStore,
    sign_batch,
)

REGULATOR = "11330000002482173M"  # a provincial market regulator (USCC)
OTHER_REGULATOR = "91310000MA1FL5L30F"
FARM = "93330782MA2EC7Q309"  # a farmers' cooperative
MARKET = "91330100MA27W8X103"

ROOT = SigningKey.generate()
OTHER_ROOT = SigningKey.generate()
_ids = itertools.count()


def event(event_type: str, actor: str, payload: dict[str, Any]) -> Event:
    return Event(
        event_id=f"evt-{next(_ids)}",
        event_type=event_type,
        occurred_at=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        actor=actor,
        location=Location(region_code="330782", name="义乌市"),
        codes=(),
        payload=freeze(payload),
    )


def org_registered(
    uscc: str, roles: Sequence[str] = ("PRODUCER",), actor: str = REGULATOR
) -> Event:
    payload = {"uscc": uscc, "name": f"组织 {uscc}", "roles": list(roles), "region_code": "330782"}
    return event(ORGANISATION_REGISTERED, actor, payload)


def key_registered(uscc: str, key: SigningKey, actor: str = REGULATOR) -> Event:
    payload = {"organisation": uscc, "key_id": key.key_id, "public_key": key.verify_key.raw}
    return event(SIGNING_KEY_REGISTERED, actor, payload)


def key_revoked(uscc: str, key: SigningKey, reason: str = "key compromised") -> Event:
    payload = {"organisation": uscc, "key_id": key.key_id, "reason": reason}
    return event(SIGNING_KEY_REVOKED, REGULATOR, payload)


def certificate_issued(actor: str) -> Event:
    return event("CertificateIssued", actor, {"product_name": "小番茄"})


def encoded(events: Sequence[Event]) -> list[bytes]:
    """Stand-in for the encoded events: distinct bytes per event."""
    return [f"{e.event_id}|{e.event_type}|{e.actor}".encode() for e in events]


def signed(key: SigningKey, events: Sequence[Event]) -> SignedBatch:
    return sign_batch(key, encoded(events))


def accept(store: TrustStore, key: SigningKey, events: Sequence[Event]) -> None:
    """What the ledger does: check the batch against the state before it, then apply in order."""
    store.check_batch(signed(key, events), events)
    for trust_event in events:
        store.apply(trust_event)


def new_store() -> TrustStore:
    return TrustStore([RootKey(ROOT.verify_key, REGULATOR)])


@pytest.fixture
def farm_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def store(farm_key: SigningKey) -> TrustStore:
    """A store where the regulator registered the farm and its key in one batch."""
    trust = new_store()
    accept(trust, ROOT, [org_registered(FARM), key_registered(FARM, farm_key)])
    return trust


# --- the happy path ---------------------------------------------------------------------------


def test_root_registers_org_and_key_then_producer_batch_is_accepted(
    store: TrustStore, farm_key: SigningKey
) -> None:
    events = [certificate_issued(FARM), certificate_issued(FARM)]
    store.check_batch(signed(farm_key, events), events)
    assert store.organisation_of(farm_key.key_id) == FARM
    assert store.key_for(farm_key.key_id) == farm_key.verify_key
    assert store.organisation(FARM) == Organisation(FARM, f"组织 {FARM}", ("PRODUCER",), "330782")
    assert not store.is_revoked(farm_key.key_id)


def test_root_key_queries() -> None:
    trust = new_store()
    assert trust.is_root(ROOT.key_id)
    assert trust.key_for(ROOT.key_id) == ROOT.verify_key
    assert trust.organisation_of(ROOT.key_id) == REGULATOR


def test_key_registered_in_a_batch_signs_only_later_batches(farm_key: SigningKey) -> None:
    trust = new_store()
    root_events = [org_registered(FARM), key_registered(FARM, farm_key)]
    trust.check_batch(signed(ROOT, root_events), root_events)
    farm_events = [certificate_issued(FARM)]
    with pytest.raises(UnknownKeyError):  # the root batch is checked but not applied yet
        trust.check_batch(signed(farm_key, farm_events), farm_events)
    for root_event in root_events:
        trust.apply(root_event)
    trust.check_batch(signed(farm_key, farm_events), farm_events)


def test_two_regulators_each_sign_their_own_trust_events(farm_key: SigningKey) -> None:
    trust = TrustStore(
        [RootKey(ROOT.verify_key, REGULATOR), RootKey(OTHER_ROOT.verify_key, OTHER_REGULATOR)]
    )
    accept(trust, OTHER_ROOT, [org_registered(FARM, actor=OTHER_REGULATOR)])
    with pytest.raises(WrongSignerError) as caught:
        events = [key_registered(FARM, farm_key, actor=REGULATOR)]
        trust.check_batch(signed(OTHER_ROOT, events), events)
    assert caught.value.field == "events[0].actor"


# --- what check_batch refuses -----------------------------------------------------------------


def test_event_of_another_organisation_names_the_event_actor(
    store: TrustStore, farm_key: SigningKey
) -> None:
    events = [certificate_issued(FARM), certificate_issued(MARKET), certificate_issued(FARM)]
    with pytest.raises(WrongSignerError) as caught:
        store.check_batch(signed(farm_key, events), events)
    assert caught.value.field == "events[1].actor"
    assert caught.value.value == MARKET
    assert FARM in caught.value.rule
    assert caught.value.reason == "wrong_signer"


def test_unregistered_key_is_unknown(store: TrustStore) -> None:
    stranger = SigningKey.generate()
    events = [certificate_issued(FARM)]
    with pytest.raises(UnknownKeyError) as caught:
        store.check_batch(signed(stranger, events), events)
    assert caught.value.field == "key_id"
    assert caught.value.value == stranger.key_id
    assert caught.value.reason == "unknown_key"


def test_revoked_key_is_refused_but_still_known(store: TrustStore, farm_key: SigningKey) -> None:
    accept(store, ROOT, [key_revoked(FARM, farm_key, reason="laptop stolen")])
    events = [certificate_issued(FARM)]
    with pytest.raises(RevokedKeyError) as caught:
        store.check_batch(signed(farm_key, events), events)
    assert caught.value.field == "key_id"
    assert "laptop stolen" in caught.value.rule
    assert store.is_revoked(farm_key.key_id)
    assert store.revocation_reason(farm_key.key_id) == "laptop stolen"
    # Entries signed before the revocation must still verify in an audit.
    assert store.key_for(farm_key.key_id) == farm_key.verify_key


def test_bad_signature_is_a_signature_error(store: TrustStore, farm_key: SigningKey) -> None:
    events = [certificate_issued(FARM)]
    batch = signed(farm_key, events)
    forged = dataclasses.replace(batch, events=(batch.events[0] + b"!",))
    with pytest.raises(SignatureError) as caught:
        store.check_batch(forged, events)
    assert type(caught.value) is SignatureError
    assert caught.value.field == "signature"


@pytest.mark.parametrize(
    "trust_event",
    [
        lambda key: org_registered(MARKET, actor=FARM),
        lambda key: key_registered(FARM, SigningKey.generate(), actor=FARM),
        lambda key: key_revoked(FARM, key),
    ],
)
def test_trust_event_signed_by_a_producer_key_is_refused(
    store: TrustStore, farm_key: SigningKey, trust_event: Any
) -> None:
    events = [certificate_issued(FARM), trust_event(farm_key)]
    with pytest.raises(WrongSignerError) as caught:
        store.check_batch(signed(farm_key, events), events)
    assert caught.value.field == "events[1].event_type"
    assert "root key" in caught.value.rule


def test_trust_event_by_root_with_another_actor_is_refused() -> None:
    events = [org_registered(FARM), org_registered(MARKET, actor=FARM)]
    with pytest.raises(WrongSignerError) as caught:
        new_store().check_batch(signed(ROOT, events), events)
    assert caught.value.field == "events[1].actor"


def test_root_key_does_not_sign_ordinary_events() -> None:
    events = [org_registered(FARM), certificate_issued(REGULATOR)]
    with pytest.raises(WrongSignerError) as caught:
        new_store().check_batch(signed(ROOT, events), events)
    assert caught.value.field == "events[1].event_type"
    assert "only trust events" in caught.value.rule


def test_decoded_events_must_match_the_batch_length(
    store: TrustStore, farm_key: SigningKey
) -> None:
    events = [certificate_issued(FARM), certificate_issued(FARM)]
    with pytest.raises(ValueError, match="1 decoded events given for a batch of 2"):
        store.check_batch(signed(farm_key, events), events[:1])


# --- what apply refuses -----------------------------------------------------------------------


def test_key_id_not_matching_the_public_key_is_refused(store: TrustStore) -> None:
    key, impostor = SigningKey.generate(), SigningKey.generate()
    registration = key_registered(FARM, key)
    payload = dict(registration.payload, key_id=impostor.key_id)
    with pytest.raises(EventValidationError) as caught:
        store.apply(dataclasses.replace(registration, payload=freeze(payload)))
    assert caught.value.field == "payload.key_id"
    assert f"does not match the public key (its key id is {key.key_id})" in caught.value.rule
    for key_id in (key.key_id, impostor.key_id):
        with pytest.raises(UnknownKeyError):
            store.key_for(key_id)


def test_same_key_for_another_organisation_is_refused(
    store: TrustStore, farm_key: SigningKey
) -> None:
    store.apply(org_registered(MARKET))
    with pytest.raises(EventValidationError) as caught:
        store.apply(key_registered(MARKET, farm_key))
    assert caught.value.field == "payload.key_id"
    assert caught.value.rule == f"is already registered to {FARM}"
    assert store.organisation_of(farm_key.key_id) == FARM


def test_same_key_twice_is_refused(store: TrustStore, farm_key: SigningKey) -> None:
    with pytest.raises(EventValidationError, match="already registered"):
        store.apply(key_registered(FARM, farm_key))


def test_revoked_key_cannot_be_registered_again(store: TrustStore, farm_key: SigningKey) -> None:
    store.apply(key_revoked(FARM, farm_key))
    with pytest.raises(EventValidationError) as caught:
        store.apply(key_registered(FARM, farm_key))
    assert caught.value.field == "payload.key_id"
    assert caught.value.rule == "was revoked and cannot be registered again"
    assert store.is_revoked(farm_key.key_id)


def test_root_key_cannot_be_registered(store: TrustStore) -> None:
    with pytest.raises(EventValidationError) as caught:
        store.apply(key_registered(FARM, ROOT))
    assert (caught.value.field, caught.value.rule) == ("payload.key_id", "is a root key")


def test_key_for_an_unregistered_organisation_is_refused() -> None:
    trust = new_store()
    key = SigningKey.generate()
    with pytest.raises(EventValidationError) as caught:
        trust.apply(key_registered(FARM, key))
    assert (caught.value.field, caught.value.rule) == ("payload.organisation", "is not registered")
    with pytest.raises(UnknownKeyError):
        trust.key_for(key.key_id)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_public_key_must_be_32_raw_bytes(store: TrustStore, length: int) -> None:
    payload = {"organisation": FARM, "key_id": "00" * 8, "public_key": b"\x01" * length}
    with pytest.raises(EventValidationError) as caught:
        store.apply(event(SIGNING_KEY_REGISTERED, REGULATOR, payload))
    assert caught.value.field == "payload.public_key"
    assert "32 bytes" in caught.value.rule


def test_revoking_an_unknown_key_is_refused(store: TrustStore) -> None:
    with pytest.raises(EventValidationError) as caught:
        store.apply(key_revoked(FARM, SigningKey.generate()))
    assert (caught.value.field, caught.value.rule) == (
        "payload.key_id",
        "no registered key has this id",
    )


def test_revoking_another_organisations_key_is_refused(
    store: TrustStore, farm_key: SigningKey
) -> None:
    store.apply(org_registered(MARKET))
    with pytest.raises(EventValidationError) as caught:
        store.apply(key_revoked(MARKET, farm_key))
    assert caught.value.field == "payload.organisation"
    assert caught.value.rule == f"key {farm_key.key_id} belongs to {FARM}"
    assert not store.is_revoked(farm_key.key_id)


def test_revoking_twice_is_refused(store: TrustStore, farm_key: SigningKey) -> None:
    store.apply(key_revoked(FARM, farm_key, reason="first"))
    with pytest.raises(EventValidationError, match="already revoked"):
        store.apply(key_revoked(FARM, farm_key, reason="second"))
    assert store.revocation_reason(farm_key.key_id) == "first"


@pytest.mark.parametrize(
    ("field", "bad_value"),
    [("uscc", ""), ("name", None), ("region_code", 330782), ("roles", []), ("roles", "PRODUCER")],
)
def test_organisation_payload_fields_are_checked(field: str, bad_value: object) -> None:
    registration = org_registered(FARM)
    payload = dict(registration.payload, **{field: bad_value})
    with pytest.raises(EventValidationError) as caught:
        new_store().apply(dataclasses.replace(registration, payload=freeze(payload)))
    assert caught.value.field == f"payload.{field}"


def test_missing_revocation_reason_is_refused(store: TrustStore, farm_key: SigningKey) -> None:
    revocation = key_revoked(FARM, farm_key)
    payload = {k: v for k, v in revocation.payload.items() if k != "reason"}
    with pytest.raises(EventValidationError) as caught:
        store.apply(dataclasses.replace(revocation, payload=freeze(payload)))
    assert (caught.value.field, caught.value.rule) == (
        "payload.reason",
        "must be a non-empty string",
    )


def test_re_registering_an_organisation_updates_it(store: TrustStore, farm_key: SigningKey) -> None:
    store.apply(org_registered(FARM, roles=("PRODUCER", "PURCHASER")))
    organisation = store.organisation(FARM)
    assert organisation is not None
    assert organisation.roles == ("PRODUCER", "PURCHASER")
    assert store.organisation_of(farm_key.key_id) == FARM


def test_apply_refuses_ordinary_events(store: TrustStore) -> None:
    with pytest.raises(EventValidationError) as caught:
        store.apply(certificate_issued(FARM))
    assert caught.value.field == "event_type"
    assert "not a trust event" in caught.value.rule


def test_apply_refuses_trust_events_not_made_by_a_regulator() -> None:
    with pytest.raises(WrongSignerError) as caught:
        new_store().apply(org_registered(MARKET, actor=FARM))
    assert caught.value.field == "actor"
    assert new_store().organisation(MARKET) is None


# --- configuration and replay -----------------------------------------------------------------


def test_store_needs_a_root_key() -> None:
    with pytest.raises(ValueError, match="at least one regulator root key"):
        TrustStore([])


def test_one_root_key_cannot_serve_two_regulators() -> None:
    with pytest.raises(ValueError, match=ROOT.key_id):
        TrustStore([RootKey(ROOT.verify_key, REGULATOR), RootKey(ROOT.verify_key, OTHER_REGULATOR)])


def test_replay_rebuilds_the_same_state_and_skips_ordinary_events() -> None:
    farm_key, old_key = SigningKey.generate(), SigningKey.generate()
    ledger = [
        org_registered(FARM),
        key_registered(FARM, old_key),
        certificate_issued(FARM),
        key_revoked(FARM, old_key),
        key_registered(FARM, farm_key),
        certificate_issued(FARM),
    ]
    trust = TrustStore.replay([RootKey(ROOT.verify_key, REGULATOR)], ledger)
    assert trust.is_revoked(old_key.key_id)
    assert trust.organisation_of(farm_key.key_id) == FARM
    events = [certificate_issued(FARM)]
    trust.check_batch(signed(farm_key, events), events)
    with pytest.raises(RevokedKeyError):
        trust.check_batch(signed(old_key, events), events)
