"""Readers never crash on a stored entry (docs/events.md, "Bounds").

Hypothesis draws food and vaccine chains whose every value validation accepts, pushed to the
edges of the bounds (times at 2000-01-01 and a day after the time of recording, in the zones
furthest apart; ten-year shelf lives and expiries; quantities of a billion and of 0.001; texts at
their length caps, in any script; temperatures at ±100 °C). Each chain goes in through the one
write path (``LedgerWriter``, embedded SQLite) and must be accepted whole; then every reader is
asked about every code: the trace (public and full), the recall scope and the recall, the scan
page and the label (both languages), the trace API, the event API and the alerts. None may raise
or answer 5xx.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.events import encode_event, event_from_json, event_to_json
from suyuan.events._validate import INVISIBLE_CHARACTERS, TEXT_LIMITS
from suyuan.events.model import Event
from suyuan.foodchain import PRODUCER_COMMITMENT
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    SqlLedgerStore,
    Submission,
    create_ledger_engine,
    initialise,
    load_or_create_ledger_key,
    migrate,
)
from suyuan.privacy import keyed_pseudonym
from suyuan.recall import find_recall
from suyuan.scenario import Organisation, Scenario
from suyuan.signing import batch_proofs, sign_batch
from suyuan.trace import Tracer, trace_json
from suyuan_trace_query.app import create_app

#: The time of recording: the writer's clock, fixed for the whole run.
NOW = datetime.now(UTC).replace(microsecond=0)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = NOW + timedelta(days=1)
LATEST_EXPIRY = (NOW + timedelta(days=3653)).date()
BASE_URL = "https://trace.example.cn"

# --- strategies ---------------------------------------------------------------------------------

instants = st.one_of(
    st.sampled_from([EARLIEST, LATEST]),
    st.datetimes(
        min_value=EARLIEST.replace(tzinfo=None), max_value=LATEST.replace(tzinfo=None)
    ).map(lambda moment: moment.replace(tzinfo=UTC)),
)
zones = st.one_of(
    st.sampled_from([-12 * 60, 14 * 60, 0, 8 * 60, 5 * 60 + 45]),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def _allowed(char: str) -> bool:
    return char not in INVISIBLE_CHARACTERS


#: Any character validation lets into a one-line text: every script, emoji, private use,
#: unassigned code points, odd spaces; no control, bidi or zero-width character.
line_chars = st.characters(blacklist_categories=("Cc", "Cs")).filter(_allowed)
#: Free text may also hold line breaks and tabs.
free_chars = st.one_of(line_chars, st.sampled_from("\n\r\t"))


def texts(field: str, *, free: bool = False) -> st.SearchStrategy[str]:
    limit = TEXT_LIMITS.get(field, 200)
    chars = free_chars if free else line_chars
    return st.one_of(
        st.sampled_from(["号" * limit, "🥬" * limit, '<script>"&' + "x" * (limit - 10)]),
        st.text(chars, min_size=1, max_size=limit),
    ).filter(lambda text: bool(text.strip()))


positive_quantities = st.one_of(
    st.sampled_from(["0.001", "1", "1000000000", "999999999.999"]),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3).map(str),
)
quantities = st.one_of(st.just("0"), positive_quantities)
celsius = st.one_of(
    st.sampled_from([-100.0, 100.0, 0.0, -0.0]),
    st.floats(min_value=-100, max_value=100, allow_nan=False),
)


@dataclass(frozen=True)
class Chain:
    """The drawn values of one food chain and one vaccine chain."""

    moments: list[datetime]
    texts: dict[str, str]
    quantities: list[str]
    certificate_quantity: str
    shelf_life_days: int
    production_days_back: int
    expiry: date | None
    readings: list[tuple[datetime, float]]
    limits: tuple[float, float]
    upstream: bool
    void: bool
    dose_no: int
    pseudonym_subject: str


TEXT_FIELDS = {
    "product_name": False,
    "origin": False,
    "contact": False,
    "waybill_no": False,
    "check_note": True,
    "reason": True,
    "summary": True,
    "symptoms": True,
    "name": False,
    "value": False,
    "limit": False,
    "unit": False,
    "standard": False,
    "lab": False,
    "batch_no": False,
    "device_id": False,
    "storage_unit": False,
    "receipt_no": False,
    "clinic_name": False,
    "lot_no": False,
    "release_authority": False,
    "release_certificate_no": False,
    "address": True,
}
EVENTS_PER_CHAIN = 17


@st.composite
def chains(draw: st.DrawFn) -> Chain:
    moments = sorted(
        draw(st.lists(st.tuples(instants, zones), min_size=EVENTS_PER_CHAIN)),
        key=lambda pair: pair[0],
    )[:EVENTS_PER_CHAIN]
    drawn_texts = {field: draw(texts(field, free=free)) for field, free in TEXT_FIELDS.items()}
    # 联系方式 must hold a telephone number.
    drawn_texts["contact"] = (drawn_texts["contact"] + "0571-63781234")[-200:]
    readings = sorted(draw(st.lists(st.tuples(instants, celsius), min_size=1, max_size=4)))
    low, high = sorted(draw(st.tuples(celsius, celsius)))
    expiry = draw(
        st.one_of(
            st.just(LATEST_EXPIRY), st.dates(min_value=date(2000, 1, 2), max_value=LATEST_EXPIRY)
        )
    )
    return Chain(
        moments=[instant.astimezone(zone) for instant, zone in moments],
        texts=drawn_texts,
        quantities=draw(st.lists(quantities, min_size=6, max_size=6)),
        certificate_quantity=draw(positive_quantities),
        shelf_life_days=draw(st.one_of(st.sampled_from([1, 3650]), st.integers(1, 3650))),
        production_days_back=draw(st.one_of(st.just(0), st.integers(0, 10_000))),
        expiry=expiry,
        readings=[(at.astimezone(UTC), value) for at, value in readings],
        limits=(low, high),
        upstream=draw(st.booleans()),
        void=draw(st.booleans()),
        dose_no=draw(st.integers(1, 10)),
        pseudonym_subject=draw(st.text(min_size=1, max_size=30).filter(str.strip)),
    )


# --- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    store: SqlLedgerStore
    s: Scenario
    writer: LedgerWriter
    client: TestClient
    admin: str
    orgs: dict[str, Organisation]
    tracer: Tracer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory: Path = tmp_path_factory.mktemp("readers")
    engine = create_ledger_engine(f"sqlite:///{directory / 'ledger.sqlite'}")
    migrate(engine)
    store = SqlLedgerStore(engine)
    s = Scenario(seed=11)
    signer = load_or_create_ledger_key(directory / "ledger.key", "readers.test/ledger")
    initialise(store, signer.verifier, [s.root])
    orgs = {
        "farm": s.organisation(
            "临安区太湖源蔬菜专业合作社", ["PRODUCER"], "330185", "临安区太湖源镇"
        ),
        "market": s.organisation(
            "杭州农副产品物流中心", ["MARKET", "PURCHASER"], "330105", "拱墅区石祥路71号"
        ),
        "importer": s.organisation(
            "宁波北仑港集中监管仓",
            ["IMPORTER", "COLD_STORE", "SUPERVISED_WAREHOUSE"],
            "330206",
            "北仑区",
        ),
        "lab": s.organisation("浙江方圆检测集团", ["LAB"], "330108", "滨江区"),
        "bureau": s.organisation(
            "杭州市市场监督管理局",
            ["REGULATOR"],
            "330100",
            "上城区",
            registrar="1",
            entity_type="1",
        ),
        "maker": s.organisation("某某生物制品有限公司", ["VACCINE_MAKER"], "330106", "西湖区"),
        "clinic": s.organisation("北山街道社区卫生服务中心", ["CLINIC"], "330106", "西湖区"),
    }
    writer = LedgerWriter(store, [s.root], clock=lambda: NOW)
    trust = s.registration(*orgs.values())
    assert writer.write(TRUST_SHARD, [Message("trust", s.sign_as_root(trust))]).rejections == ()
    app = create_app(
        Settings(
            public_base_url=BASE_URL,
            ledger_key_file=str(directory / "ledger.key"),
            ledger_name="readers.test/ledger",
        ).model_copy(update=dict(query_rate_limit_per_second=0)),
        store=store,
    )
    with TestClient(app) as client:
        yield World(store, s, writer, client, create_token(engine, "admin"), orgs, Tracer(store))
    store.close()


# --- building a chain ---------------------------------------------------------------------------


class Builder:
    def __init__(self, world: World, chain: Chain) -> None:
        self.world = world
        self.s = world.s
        self.chain = chain
        self.moments = iter(chain.moments)
        self.batches: list[tuple[Organisation, list[Event]]] = []
        self.events: list[Event] = []

    def add(self, org: str, event_type: str, payload: dict[str, Any], **kwargs: Any) -> Event:
        organisation = self.world.orgs[org]
        at = kwargs.pop("at", None) or next(self.moments)
        event = self.s.event(organisation, event_type, payload, at=at, **kwargs)
        if self.batches and self.batches[-1][0] is organisation:
            self.batches[-1][1].append(event)
        else:
            self.batches.append((organisation, [event]))
        self.events.append(event)
        return event

    def write(self) -> None:
        messages = [
            Message(f"chain#{n}", self.s.sign(org, events))
            for n, (org, events) in enumerate(self.batches)
        ]
        written = self.world.writer.write(0, messages)
        assert written.rejections == (), written.rejections
        assert written.accepted == len(self.events)


def build(world: World, chain: Chain) -> tuple[list[str], list[Event], str]:
    """Append the chain; return its codes, its events and its recall id."""
    s, t, q = world.s, chain.texts, chain.quantities
    b = Builder(world, chain)
    farm, market = world.orgs["farm"], world.orgs["market"]
    cert, lot, case, cut = s.certificate_code(), s.unit_code(lot=_lot(s)), s.sscc(), _lot_code(s)
    unit, drug = s.unit_code(item="10027", serial=_lot(s)), s.drug_code()

    issued_at = next(b.moments)
    # A date field may lie at most a day past the recording's UTC date (events/_validate.py); a
    # moment at LATEST in a zone east of UTC has a later local date.
    issue_date = min(max(issued_at.date(), date(2000, 1, 1)), LATEST.date())
    b.add(
        "farm",
        "CertificateIssued",
        {
            "issuer_type": "PRODUCER",
            "product_name": t["product_name"],
            "category": "VEGETABLES",
            "origin": t["origin"],
            "origin_region_code": "330185",
            "issue_date": issue_date.isoformat(),
            "contact": t["contact"],
            "commitment": PRODUCER_COMMITMENT,
            "basis": "QUALITY_CONTROL",
            "inspection_event_id": None,
            "upstream_certificates": [],
        },
        codes=[cert, lot],
        quantity=chain.certificate_quantity,
        unit=t["unit"],
        at=issued_at,
    )
    b.add("farm", "Aggregated", {"parent_code": case, "child_codes": [lot]}, codes=[case, lot])
    b.add(
        "farm",
        "Shipped",
        {
            "to_org": market.uscc,
            "waybill_no": t["waybill_no"],
            "vehicle_plate": None,
            "carrier": None,
            "destination": None,
        },
        codes=[case],
        quantity=q[0],
        unit=t["unit"],
    )
    b.add(
        "market",
        "Received",
        {
            "from_org": farm.uscc,
            "waybill_no": t["waybill_no"],
            "upstream_certificates": [cert] if chain.upstream else [],
            "check_passed": True,
            "check_note": t["check_note"],
        },
        codes=[case],
        quantity=q[1],
        unit=t["unit"],
    )
    b.add(
        "market",
        "Transformed",
        {
            "process": "REPACKING",
            "inputs": [{"code": lot, "quantity": q[2], "unit": t["unit"]}],
            "outputs": [{"code": cut, "quantity": q[3], "unit": t["unit"]}],
        },
        codes=[lot, cut],
    )
    b.add(
        "market",
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": t["receipt_no"]},
        codes=[cut],
        quantity=q[4],
        unit=t["unit"],
    )
    b.add(
        "lab",
        "InspectionRecorded",
        {
            "kind": "OFFICIAL_SAMPLING",
            "items": [
                {
                    "name": t["name"],
                    "value": t["value"],
                    "unit": t["unit"],
                    "limit": t["limit"],
                    "standard": t["standard"],
                    "passed": False,
                }
            ],
            "passed": False,
            "lab": t["lab"],
            "lab_uscc": None,
            "report_no": None,
        },
        codes=[lot],
    )
    recall = b.add(
        "bureau",
        "RecallInitiated",
        {
            "recall_id": str(uuid.UUID(int=s.rng.getrandbits(128), version=4)),
            "root_codes": [lot],
            "reason": t["reason"],
            "level": "LEVEL_1",
        },
        codes=[lot],
    )
    if chain.void:
        b.add(
            "farm",
            "CertificateVoided",
            {"reason": t["reason"], "replacement_code": None},
            codes=[cert],
        )
    else:
        next(b.moments)

    declared_at = next(b.moments)
    if declared_at.date() < date(2000, 1, 1):
        declared_at = declared_at.astimezone(UTC)
    production = min(
        max(declared_at.date() - timedelta(days=chain.production_days_back), date(2000, 1, 1)),
        LATEST.date(),
    )
    b.add(
        "importer",
        "ImportDeclared",
        {
            "product_name": t["product_name"],
            "origin_country": "BR",
            "batch_no": t["batch_no"],
            "container_no": "CSQU3054383",
            "production_date": production.isoformat(),
            "shelf_life_days": chain.shelf_life_days,
            "importer": world.orgs["importer"].uscc,
            "customs_declaration_no": None,
            "quarantine_certificate": {"number": t["batch_no"], "passed": True},
            "nucleic_acid_test": {"number": t["batch_no"], "passed": True},
            "disinfection_certificate": {"number": t["batch_no"], "passed": True},
        },
        codes=[unit],
        quantity=q[5],
        unit=t["unit"],
        at=declared_at,
    )
    b.add(
        "importer",
        "TemperatureRecorded",
        {
            "device_id": t["device_id"],
            "container_no": None,
            "readings": [{"at": at.isoformat(), "celsius": value} for at, value in chain.readings],
            "min_celsius": chain.limits[0],
            "max_celsius": chain.limits[1],
        },
        codes=[unit],
    )
    b.add(
        "importer",
        "Stored",
        {"facility": "COLD_STORE", "storage_unit": t["storage_unit"]},
        codes=[unit],
    )

    released_at = next(b.moments)
    expiry = chain.expiry
    if expiry is None or expiry <= released_at.date():
        expiry = min(released_at.date() + timedelta(days=1), LATEST_EXPIRY)
    b.add(
        "maker",
        "VaccineLotReleased",
        {
            "product_name": t["product_name"],
            "lot_no": t["lot_no"],
            "manufacturer": world.orgs["maker"].uscc,
            "release_certificate_no": t["release_certificate_no"],
            "release_authority": t["release_authority"],
            "expiry_date": expiry.isoformat(),
        },
        codes=[drug],
        quantity=q[0] if q[0] != "0" else "1",
        unit=t["unit"],
        at=released_at,
    )
    given_at = next(b.moments)
    # The clinic holds the dose before giving it (custody, docs/authority.md).
    clinic = world.orgs["clinic"]
    b.add(
        "maker",
        "Shipped",
        {
            "to_org": clinic.uscc,
            "waybill_no": t["waybill_no"],
            "vehicle_plate": None,
            "carrier": None,
            "destination": None,
        },
        codes=[drug],
        at=released_at,
    )
    b.add(
        "clinic",
        "Received",
        {
            "from_org": world.orgs["maker"].uscc,
            "waybill_no": t["waybill_no"],
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": t["check_note"],
        },
        codes=[drug],
        at=given_at,
    )
    shot = b.add(
        "clinic",
        "VaccineAdministered",
        {
            "clinic_name": t["clinic_name"],
            "dose_no": chain.dose_no,
            "recipient_pseudonym": keyed_pseudonym(b"s" * 32, chain.pseudonym_subject),
        },
        codes=[drug],
        at=given_at,
    )
    b.add(
        "clinic",
        "AdverseEventReported",
        {
            "recipient_pseudonym": keyed_pseudonym(b"s" * 32, chain.pseudonym_subject),
            "administered_event_id": shot.event_id,
            "onset_at": given_at.isoformat(),
            "classification": "PENDING",
            "serious": True,
            "symptoms": t["symptoms"],
            "report_no": None,
        },
        codes=[drug],
        at=next(b.moments),
    )
    b.write()
    return [cert, lot, case, cut, unit, drug], b.events, recall.event_id


def _lot(s: Scenario) -> str:
    return "".join(s.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(20))


def _lot_code(s: Scenario) -> str:
    return s.unit_code(item="10058", lot=_lot(s))


# --- entries stored before the bounds -----------------------------------------------------------


def _append_unchecked(world: World, org: Organisation, events: list[Event]) -> None:
    """Store ``events`` as a ledger written before the bounds did: signed, but unvalidated."""
    data = [encode_event(event) for event in events]
    batch = sign_batch(org.key, data)
    proofs = batch_proofs(batch)
    world.store.append(
        0,
        [
            Submission(event, data[i], batch.key_id, batch.signature, p.count, i, p.audit_path)
            for i, (event, p) in enumerate(zip(events, proofs, strict=True))
        ],
    )


def _at(event: Event, when: str) -> Event:
    return event_from_json({**event_to_json(event), "occurred_at": when})


def test_readers_survive_entries_stored_before_the_bounds(world: World) -> None:
    s, farm = world.s, world.orgs["farm"]
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"
    cert, lot, unit, case = s.certificate_code(), _lot_code(s), _lot_code(s), s.sscc()
    certificate = s.event(
        farm,
        "CertificateIssued",
        {
            "issuer_type": "PRODUCER",
            "product_name": "小青菜",
            "category": "VEGETABLES",
            "origin": "临安",
            "origin_region_code": "330185",
            "issue_date": "0001-01-01",
            "contact": "0571-63781234",
            "commitment": PRODUCER_COMMITMENT,
            "basis": "QUALITY_CONTROL",
            "inspection_event_id": None,
            "upstream_certificates": [],
        },
        codes=[cert, lot],
        quantity="50",
        unit="kg",
    )
    declared = s.event(
        farm,
        "ImportDeclared",
        {
            "product_name": "冷冻牛肉",
            "origin_country": "BR",
            "batch_no": "B1",
            "container_no": "CSQU3054383",
            "production_date": "2024-03-01",
            "shelf_life_days": 3_000_000,
            "importer": farm.uscc,
            "customs_declaration_no": None,
            "quarantine_certificate": {"number": "1", "passed": True},
            "nucleic_acid_test": {"number": "1", "passed": True},
            "disinfection_certificate": {"number": "1", "passed": True},
        },
        codes=[unit],
        quantity="999999999999999.999",
        unit="kg",
    )
    readings = s.event(
        farm,
        "TemperatureRecorded",
        {
            "device_id": "TL-1",
            "container_no": None,
            "readings": [{"at": early, "celsius": -1e300}, {"at": late, "celsius": 1e300}],
            "min_celsius": -25.0,
            "max_celsius": -18.0,
        },
        codes=[unit],
    )
    packed = s.event(
        farm,
        "Aggregated",
        {"parent_code": case, "child_codes": [lot, unit]},
        codes=[case, lot, unit],
    )
    recall = s.event(
        world.orgs["bureau"],
        "RecallInitiated",
        {"recall_id": s.event_id(), "root_codes": [case], "reason": "r", "level": "LEVEL_1"},
        codes=[case],
    )
    _append_unchecked(world, farm, [_at(certificate, early), declared, _at(readings, late), packed])
    _append_unchecked(world, world.orgs["bureau"], [_at(recall, late)])

    _ask_every_reader(world, [cert, lot, unit, case], recall.event_id, [])
    assert world.client.get("/v1/metrics/coverage", headers=_admin(world)).status_code == 200


# --- the property -------------------------------------------------------------------------------


def test_every_reader_answers_every_accepted_chain(world: World) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(chain=chains())
    def readers_survive(chain: Chain) -> None:
        codes, events, recall_id = build(world, chain)
        _ask_every_reader(world, codes, recall_id, events)

    readers_survive()


def _admin(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.admin}"}


def _ask_every_reader(world: World, codes: list[str], recall_id: str, events: list[Event]) -> None:
    client, admin = world.client, _admin(world)
    for code in codes:
        for full in (False, True):
            traced = world.tracer.trace(code, full=full)
            assert traced.found
            trace_json(traced, public=not full)
        world.tracer.recall_scope([code])
        for path in (f"/c/{code}", f"/c/{code}?lang=en", f"/c/{code}/label.svg"):
            _answers(client.get(path))
        _answers(client.get(f"/v1/trace/{code}"))
        _answers(client.get(f"/v1/trace/{code}", headers=admin))
    find_recall(world.store, world.tracer, recall_id)
    _answers(client.get(f"/v1/recalls/{recall_id}", headers=admin))
    for event in events:
        _answers(client.get(f"/v1/events/{event.event_id}"))
    _answers(client.get("/v1/alerts", headers=admin))
    _answers(client.get("/v1/alerts", params={"status": "closed"}, headers=admin))


def _answers(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
