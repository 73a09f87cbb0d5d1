"""Attacks without services: members kept beside captured EPCIS events,
the writer's per-event outcomes, and the code graph's walk in the database.

Each test is an attack that must fail: what a hostile but registered organisation (or a caller
of the query service with crafted codes) tries, and what the ledger answers instead.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from suyuan.codegraph import CONTAINS
from suyuan.epcis import map_event, read_capture_document
from suyuan.epcis._document import NAMESPACE, epcis_event
from suyuan.epcis._identifiers import region_uri
from suyuan.epcis._kept import with_kept
from suyuan.events import encode_batch, encode_event, event_from_json
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import SqlLedgerStore
from suyuan.signing import SigningKey, sign_batch
from suyuan.trace import TracedEvent
from suyuan.transport import EmbeddedTransport, EventStatus
from tests.databases import sqlite_store
from tests.integration.test_epcis_capture import farm_document
from tests.ledger_world import World
from tests.unit.test_epcis_mapping import EXAMPLES, FARM, OTHER, registry

# --- kept members: never a second voice in the ledger's own vocabulary ---------------------------


def _shipping() -> tuple[dict[str, Any], dict[str, str]]:
    _, _, event, prefixes = EXAMPLES[0]
    return copy.deepcopy(event), dict(prefixes)


@pytest.mark.parametrize(
    ("name", "extra_prefixes"),
    [
        ("sy:actor", {"sy": NAMESPACE}),  # our namespace under another prefix
        ("u:suyuan:epcis:ledger", {"u": "urn:"}),  # a prefix that reaches into it
        (f"{NAMESPACE}actor", {}),  # our term as a full IRI, no prefix at all
    ],
)
def test_a_member_in_the_ledgers_own_vocabulary_is_refused_not_kept(
    name: str, extra_prefixes: dict[str, str]
) -> None:
    """Kept as sent, ``sy:actor`` naming another organisation would be exported beside our
    ``suyuan:actor``: to a JSON-LD reader, the event would have two actors (the CBV hash
    ignores only members spelled ``suyuan:``, so the hash would still hold)."""
    event, prefixes = _shipping()
    event[name] = {"uscc": OTHER}

    mapped = map_event(
        event,
        index=0,
        organisation=FARM,
        prefixes={**prefixes, **extra_prefixes},
        registry=registry(),
    )

    assert mapped.event is None and mapped.kept is None
    assert [(p.reason, p.field) for p in mapped.problems] == [
        ("unsupported_feature", f"epcisBody.eventList[0].{name}")
    ]


def test_our_vocabulary_nested_in_an_extension_is_refused_too() -> None:
    """The export declares ``suyuan:`` itself, so a nested ``suyuan:actor`` kept inside a
    vendor's member would be read as ours."""
    event, prefixes = _shipping()
    event["example:note"] = {"suyuan:actor": {"uscc": OTHER}}

    mapped = map_event(event, index=0, organisation=FARM, prefixes=prefixes, registry=registry())

    assert mapped.event is None
    assert [p.field for p in mapped.problems] == ["epcisBody.eventList[0].example:note"]


def test_a_vendor_member_is_still_kept_and_exported_with_the_reference_hash() -> None:
    """The refusal is only of our vocabulary: an extension of the sender's own is kept."""
    event, prefixes = _shipping()
    event["example:note"] = {"example:actor": "仓库甲"}

    mapped = map_event(event, index=0, organisation=FARM, prefixes=prefixes, registry=registry())

    assert mapped.event is not None and mapped.kept is not None
    ours = event_from_json(mapped.event)
    body = epcis_event(TracedEvent(ours, 0, 0, ours.occurred_at, None), public=False, base_url="")
    exported = with_kept(body, ours, mapped.kept)
    assert exported["example:note"] == {"example:actor": "仓库甲"}
    assert exported["suyuan:actor"]["uscc"] == FARM


# --- the writer's outcomes: "accepted" only for what was appended --------------------------------


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def store(tmp_path: Path, world: World) -> Iterator[SqlLedgerStore]:
    with sqlite_store(tmp_path, world) as store:
        yield store


@pytest.fixture
def transport(store: SqlLedgerStore, world: World) -> EmbeddedTransport:
    return EmbeddedTransport(store, [world.scenario.root])


def _stored_bytes(store: SqlLedgerStore, event_id: str) -> bytes | None:
    return store.stored_events([event_id]).get(event_id)


def test_a_repeated_id_with_other_content_inside_one_batch_is_a_conflict_not_a_duplicate(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    event = world.certificate()
    other = dataclasses.replace(event, occurred_at=event.occurred_at - timedelta(seconds=1))
    size = store.head(0).size

    result = transport.submit([world.farm_batch([event, other, event])], key="k", source="t")

    assert [(o.index, o.status, o.reason) for o in result.outcomes] == [
        (0, EventStatus.ACCEPTED, None),
        (1, EventStatus.REJECTED, "id_conflict"),
        (2, EventStatus.DUPLICATE, None),
    ]
    assert store.head(0).size == size + 1
    assert _stored_bytes(store, event.event_id) == encode_event(event)


def test_other_content_under_a_stored_id_is_a_conflict_and_the_true_copy_a_duplicate(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    """No caller is told ``accepted`` for an event that was not appended: the conflicting copy
    sent first in the batch does not make the true copy after it count as new."""
    event = world.certificate()
    transport.submit([world.farm_batch([event])], key="k", source="t")
    other = dataclasses.replace(event, occurred_at=event.occurred_at - timedelta(seconds=1))
    size = store.head(0).size

    result = transport.submit([world.farm_batch([other, event])], key="k", source="t")

    assert [(o.status, o.reason) for o in result.outcomes] == [
        (EventStatus.REJECTED, "id_conflict"),
        (EventStatus.DUPLICATE, None),
    ]
    assert store.head(0).size == size
    assert _stored_bytes(store, event.event_id) == encode_event(event)


def test_an_event_of_a_message_refused_whole_is_not_told_accepted_by_a_later_copy(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    """One write: a forged batch holding the event, then the farm's own batch of it. Only the
    second is the event's copy in the ledger; the first is refused whole."""
    event = world.certificate()
    forged = encode_batch(sign_batch(SigningKey.generate(), [encode_event(event)]))

    result = transport.submit([forged, world.farm_batch([event])], key="k", source="t")

    assert [(o.message, o.status, o.reason) for o in result.outcomes] == [
        (0, EventStatus.REJECTED, "unknown_key"),
        (1, EventStatus.ACCEPTED, None),
    ]
    assert _stored_bytes(store, event.event_id) == encode_event(event)


def test_another_organisations_copy_of_an_id_is_refused_and_never_told_duplicate(
    transport: EmbeddedTransport, store: SqlLedgerStore, world: World
) -> None:
    """The market re-signs the farm's stored event id with its own content: not a
    ``duplicate`` (which would tell it its event is in the ledger)."""
    event = world.certificate()
    transport.submit([world.farm_batch([event])], key="k", source="t")
    theirs = dataclasses.replace(event, actor=world.market.uscc)

    result = transport.submit([world.scenario.sign(world.market, [theirs])], key="k", source="t")

    assert [o.status for o in result.outcomes] == [EventStatus.REJECTED]
    assert _stored_bytes(store, event.event_id) == encode_event(event)


# --- the code graph's walk in SQL: crafted codes never break the query --------------------------


CRAFTED = [
    "'",
    '"',
    "\\",
    "'); DROP TABLE code_edges; --",
    '"]}',
    "[1,2]",
    "null",
    "{}",
    "\u0000",
    "码" * 300,
    "%",
    "_",
]


def test_crafted_start_codes_neither_break_the_walk_nor_hide_the_goods(
    store: SqlLedgerStore, world: World
) -> None:
    s = world.scenario
    pallet, lots = s.sscc(), [s.unit_code(lot=f"LA2026050{n}") for n in range(3)]
    writer = LedgerWriter(store, [s.root])
    written = writer.write(
        0, [Message("pack", world.farm_batch([world.aggregation(pallet, lots)]))]
    )
    assert written.accepted == 1, written.rejections

    clean = store.reach([pallet], upward=False, kinds={CONTAINS}, depth=10, rows=100)
    crafted = store.reach(
        [*CRAFTED, pallet, *CRAFTED], upward=False, kinds={CONTAINS}, depth=10, rows=100
    )
    many = store.reach(
        [f"X{n:07d}'\"" for n in range(50_000)] + [pallet],
        upward=False,
        kinds={CONTAINS},
        depth=10,
        rows=100,
    )
    up = store.reach([*CRAFTED, lots[0]], upward=True, kinds={CONTAINS}, depth=10, rows=100)

    assert sorted(clean.distances) == sorted((lot, 1) for lot in lots)
    assert sorted(crafted.distances) == sorted(clean.distances) == sorted(many.distances)
    assert crafted.ended and many.ended
    assert up.distances == [(pallet, 1)]


def test_a_region_place_other_than_the_recorded_region_is_refused_not_kept() -> None:
    """Our own document names the farm's region (330185) in ``suyuan:location`` and, as its
    ``readPoint``, Beijing's (110101) in our region identifiers. Kept as sent, the full view
    would show the event seen in Beijing while the ledger records 临安; it is refused."""
    world = World()
    document, _ = farm_document(world)
    read = read_capture_document(document)
    event = copy.deepcopy(read.events[0])
    recorded = event["suyuan:location"]["region_code"]
    event["readPoint"] = {"id": "urn:suyuan:region:110101"}
    same = {**copy.deepcopy(read.events[0]), "readPoint": {"id": region_uri(recorded)}}

    farm = {"organisation": world.farm.uscc, "organisation_name": world.farm.name}
    lying = map_event(event, index=0, prefixes=read.prefixes, **farm)
    honest = map_event(same, index=0, prefixes=read.prefixes, **farm)

    assert lying.event is None
    assert [(p.field, p.value) for p in lying.problems] == [
        ("epcisBody.eventList[0].readPoint", "urn:suyuan:region:110101")
    ]
    assert honest.event is not None and honest.kept is None


def test_a_temperature_under_another_prefix_is_recorded_not_only_exported() -> None:
    """A report typed ``g:Temperature`` (``g`` bound to GS1's vocabulary) is a temperature to
    any JSON-LD reader. Kept as sent but unrecorded, the export showed 41 °C while the ledger's
    record said at most 26.2; the reading is recorded, so both say 41."""
    name, index, event, prefixes = next(e for e in EXAMPLES if "sensorElementList" in e[2])
    event = copy.deepcopy(event)
    first = event["sensorElementList"][0]
    first["sensorReport"].append({"type": "g:Temperature", "value": 41.0, "uom": "CEL"})

    mapped = map_event(
        event,
        index=index,
        organisation=FARM,
        prefixes={**prefixes, "g": "https://gs1.org/voc/"},
        registry=registry(),
    )

    assert mapped.event is not None, mapped.problems
    ours = event_from_json(mapped.event)
    assert ours.payload["max_celsius"] == 41.0, name
    exported = with_kept(
        epcis_event(TracedEvent(ours, 0, 0, ours.occurred_at, None), public=False, base_url=""),
        ours,
        mapped.kept,
    )
    assert exported["sensorElementList"][0]["sensorReport"][-1]["value"] == 41.0


@pytest.mark.parametrize(
    "name", ["e:eventTime", "https://ref.gs1.org/epcis/disposition", "g:certificationInfo"]
)
def test_a_standard_member_under_another_name_is_refused_not_kept(name: str) -> None:
    """``e:eventTime`` (``e`` bound to EPCIS) is a second event time to a JSON-LD reader; kept
    as sent, the export would show a time, disposition or certificate the ledger never
    checked."""
    event, prefixes = _shipping()
    event[name] = "2030-01-01T00:00:00Z" if "Time" in name else "destroyed"

    mapped = map_event(
        event,
        index=0,
        organisation=FARM,
        prefixes={**prefixes, "e": "https://ref.gs1.org/epcis/", "g": "https://gs1.org/voc/"},
        registry=registry(),
    )

    assert mapped.event is None
    assert [p.field for p in mapped.problems] == [f"epcisBody.eventList[0].{name}"]


def test_a_gln_place_beside_our_location_must_be_the_gln_the_ledger_records() -> None:
    """Our own document tells its place in ``suyuan:location`` and names a GLN as ``readPoint``.
    Unregistered and not recorded, the GLN was kept as sent: the full view showed it as the
    place while the signed event named none — and once the GLN was registered to the market,
    the farm's event appeared at the market's place. Now the GLN must be the one recorded."""
    world = World()
    document, _ = farm_document(world)
    read = read_capture_document(document)
    farm = {"organisation": world.farm.uscc, "organisation_name": world.farm.name}
    sgln, gln = "urn:epc:id:sgln:6901234.00001.0", "6901234000016"

    unrecorded = copy.deepcopy(read.events[0])
    unrecorded["readPoint"] = unrecorded["bizLocation"] = {"id": sgln}
    unrecorded["suyuan:location"].pop("gln", None)
    other = copy.deepcopy(unrecorded)
    other["suyuan:location"]["gln"] = "6901234000023"
    recorded = copy.deepcopy(unrecorded)
    recorded["suyuan:location"]["gln"] = gln

    refused = map_event(unrecorded, index=0, prefixes=read.prefixes, **farm)
    mismatched = map_event(other, index=0, prefixes=read.prefixes, **farm)
    kept = map_event(recorded, index=0, prefixes=read.prefixes, **farm)

    assert refused.event is None
    assert {p.reason for p in refused.problems} == {"unknown_gln"}
    assert mismatched.event is None
    assert {p.field for p in mismatched.problems} == {
        "epcisBody.eventList[0].readPoint",
        "epcisBody.eventList[0].bizLocation",
    }
    assert kept.event is not None and kept.event["location"]["gln"] == gln
