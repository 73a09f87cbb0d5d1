"""A builder of signed, realistic event streams: a regulator with a root key, organisations
with their signing keys, and events in their JSON form (``docs/events.md``).

Deterministic for a given seed, so the demo, the tests and the benchmarks share one way of
making data that passes every rule of the contract. Besides the :class:`Scenario`: a vegetable
certificate (:func:`vegetable_certificate`) and farm lots in bulk (:class:`LotMaker`,
:func:`bulk_messages`: ``suyuan demo --events N``, the benchmarks, the chaos load).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from stdnum import ean

from suyuan.codes import new_certificate_code, new_uscc
from suyuan.events import encode_batch, encode_event, event_from_json
from suyuan.events.model import (
    ORGANISATION_REGISTERED,
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    Event,
)
from suyuan.foodchain import PRODUCER_COMMITMENT, PURCHASER_COMMITMENT
from suyuan.signing import RootKey, SigningKey, sign_batch

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Organisation:
    """A registered organisation of the scenario and the key it signs with."""

    uscc: str
    name: str
    roles: tuple[str, ...]
    region_code: str
    place: str
    key: SigningKey

    def location(self) -> dict[str, Any]:
        return {
            "region_code": self.region_code,
            "name": self.name,
            "address": self.place,
            "gln": None,
        }


class Scenario:
    """Makes organisations, keys and signed batches. Not thread-safe."""

    def __init__(self, seed: int = 0, *, start: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.clock = start or datetime(2026, 5, 6, 6, 0, tzinfo=CHINA)
        #: How far :meth:`tick` moves the clock by default (once per event made).
        self.step = timedelta(minutes=7)
        self.root_key = SigningKey.from_raw(self.rng.randbytes(32))
        self.regulator_uscc = new_uscc("330100", registrar="1", entity_type="1", rng=self.rng)
        self.root = RootKey(self.root_key.verify_key, self.regulator_uscc)

    # --- identities -----------------------------------------------------------------------

    def event_id(self) -> str:
        return str(uuid.UUID(bytes=self.rng.randbytes(16), version=4))

    def certificate_code(self) -> str:
        return new_certificate_code(self.rng)

    def sscc(self, company_prefix: str = "6901234", serial: int | None = None) -> str:
        """A canonical GS1 SSCC code ``(00)…`` for a case or pallet (a random serial unless
        one is given)."""
        number = self.rng.randrange(10**9) if serial is None else serial
        body = "0" + company_prefix + f"{number:09d}"
        return f"(00){body}{ean.calc_check_digit(body)}"

    def drug_code(self, product: str = "8123456", serial: int | None = None) -> str:
        """A 20-digit 药品追溯码: 7-digit product identifier, then serial and check part."""
        number = self.rng.randrange(10**13) if serial is None else serial
        return f"{product}{number:013d}"

    def unit_code(
        self, item: str = "10010", lot: str | None = None, serial: str | None = None
    ) -> str:
        """A canonical GS1 code ``(01)GTIN[(10)lot][(21)serial]`` of the demo company prefix."""
        body = "0" + "6901234" + item
        code = f"(01){body}{ean.calc_check_digit(body)}"
        if lot:
            code += f"(10){lot}"
        if serial:
            code += f"(21){serial}"
        return code

    def tick(self, minutes: int | None = None) -> datetime:
        """Move the clock on ``minutes`` (default: :attr:`step`) and return it."""
        self.clock += self.step if minutes is None else timedelta(minutes=minutes)
        return self.clock

    def organisation(
        self,
        name: str,
        roles: Sequence[str],
        region_code: str,
        place: str,
        *,
        registrar: str = "9",
        entity_type: str = "1",
    ) -> Organisation:
        uscc = new_uscc(region_code, registrar=registrar, entity_type=entity_type, rng=self.rng)
        key = SigningKey.from_raw(self.rng.randbytes(32))
        return Organisation(uscc, name, tuple(roles), region_code, place, key)

    def cooperative(self, number: int | None = None) -> Organisation:
        """A vegetable cooperative of 临安 (农民专业合作社: registrar N, entity type 2), the farm of
        the stories: 临安区太湖源蔬菜专业合作社, or the ``number``-th of the bulk lots' farms."""
        if number is None:
            name, place = "临安区太湖源蔬菜专业合作社", "浙江省杭州市临安区太湖源镇白沙村"
        else:
            name, place = f"临安区第{number}蔬菜专业合作社", f"浙江省杭州市临安区太湖源镇{number}号"
        return self.organisation(
            name, ["PRODUCER"], "330185", place, registrar="N", entity_type="2"
        )

    def lot_farms(self, count: int) -> list[Organisation]:
        """The cooperatives 1..``count`` whose lots the demo's bulk, the benchmarks and the
        chaos runs make (:class:`LotMaker`)."""
        return [self.cooperative(n) for n in range(1, count + 1)]

    def wholesale_market(self) -> Organisation:
        """杭州农副产品物流中心, the wholesale market (and purchaser) the farms ship to."""
        return self.organisation(
            "杭州农副产品物流中心",
            ["MARKET", "PURCHASER"],
            "330105",
            "浙江省杭州市拱墅区石祥路71号",
        )

    # --- events -------------------------------------------------------------------------------

    def event(
        self,
        actor: Organisation | str,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        codes: Sequence[str] = (),
        quantity: str | None = None,
        unit: str | None = None,
        at: datetime | None = None,
        located: bool = True,
        biz_step: str | None = None,
        disposition: str | None = None,
    ) -> Event:
        """An event in the documented JSON form, parsed and checked like a producer's."""
        org = actor if isinstance(actor, Organisation) else None
        return event_from_json(
            {
                "event_id": self.event_id(),
                "event_type": event_type,
                "occurred_at": (at or self.tick()).isoformat(),
                "actor": org.uscc if org else actor,
                "location": org.location() if org and located else None,
                "codes": list(codes),
                "quantity": quantity,
                "unit": unit,
                "biz_step": biz_step,
                "disposition": disposition,
                "payload": dict(payload),
            }
        )

    def registration(self, *orgs: Organisation) -> list[Event]:
        """Trust events (signed by the root key) registering ``orgs`` and their keys."""
        events: list[Event] = []
        for org in orgs:
            events.append(
                self.event(
                    self.regulator_uscc,
                    ORGANISATION_REGISTERED,
                    {
                        "uscc": org.uscc,
                        "name": org.name,
                        "roles": list(org.roles),
                        "region_code": org.region_code,
                    },
                )
            )
            events.append(
                self.event(
                    self.regulator_uscc,
                    SIGNING_KEY_REGISTERED,
                    {
                        "organisation": org.uscc,
                        "key_id": org.key.key_id,
                        "public_key": _b64(org.key.verify_key.raw),
                    },
                )
            )
        return events

    def revocation(self, org: Organisation, reason: str) -> Event:
        return self.event(
            self.regulator_uscc,
            SIGNING_KEY_REVOKED,
            {"organisation": org.uscc, "key_id": org.key.key_id, "reason": reason},
        )

    def pesticide_test(
        self,
        actor: Organisation,
        codes: Sequence[str],
        *,
        passed: bool = True,
        kind: str = "RAPID_TEST",
        lab: str | None = None,
        lab_uscc: str | None = None,
        report_no: str | None = None,
        at: datetime | None = None,
    ) -> Event:
        """An ``InspectionRecorded`` of ``codes`` for one pesticide residue (毒死蜱, limit
        ≤0.02 mg/kg by GB 2763-2021): not detected if ``passed``, else 0.08 mg/kg. A
        ``COMMISSIONED_LAB`` test names a lab (浙江方圆检测集团 unless ``lab`` is given)."""
        return self.event(
            actor,
            "InspectionRecorded",
            {
                "kind": kind,
                "items": [
                    {
                        "name": "毒死蜱",
                        "value": "未检出" if passed else "0.08",
                        "unit": "mg/kg",
                        "limit": "≤0.02",
                        "standard": "GB 2763-2021",
                        "passed": passed,
                    }
                ],
                "passed": passed,
                "lab": lab or ("浙江方圆检测集团" if kind == "COMMISSIONED_LAB" else None),
                "lab_uscc": lab_uscc,
                "report_no": report_no,
            },
            codes=codes,
            at=at,
        )

    # --- signing ------------------------------------------------------------------------------

    def sign(self, signer: Organisation | SigningKey, events: Sequence[Event]) -> bytes:
        """One Kafka message: the events encoded, signed as one batch, the batch encoded."""
        key = signer.key if isinstance(signer, Organisation) else signer
        return encode_batch(sign_batch(key, [encode_event(e) for e in events]))

    def sign_as_root(self, events: Sequence[Event]) -> bytes:
        return self.sign(self.root_key, events)


def vegetable_certificate(
    s: Scenario,
    issuer: Organisation,
    lot: str | Sequence[str] | None,
    *,
    basis: str = "QUALITY_CONTROL",
    inspection: str | None = None,
    upstream: tuple[str, ...] = (),
    quantity: str = "500",
    code: str | None = None,
    origin: Organisation | None = None,
) -> Event:
    """A 合格证 for a lot (or lots) of 小青菜, following the 2025 rules: a producer's, or a
    purchaser's when ``upstream`` names the certificates it rests on. The vegetables grew at
    ``origin``'s place, by default the demo cooperative's village."""
    return s.event(
        issuer,
        "CertificateIssued",
        {
            "issuer_type": "PURCHASER" if upstream else "PRODUCER",
            "product_name": "小青菜",
            "category": "VEGETABLES",
            "origin": origin.place if origin else "浙江省杭州市临安区太湖源镇白沙村",
            "origin_region_code": origin.region_code if origin else "330185",
            "issue_date": s.clock.date().isoformat(),
            "contact": "0571-63781234",
            "commitment": PURCHASER_COMMITMENT if upstream else PRODUCER_COMMITMENT,
            "basis": basis,
            "inspection_event_id": inspection,
            "upstream_certificates": list(upstream),
        },
        codes=[code or s.certificate_code(), *([lot] if isinstance(lot, str) else lot or ())],
        quantity=quantity,
        unit="kg",
    )


#: Units a farm lot's case holds (:class:`LotMaker`).
UNITS_PER_CASE = 6


class LotMaker:
    """Makes the four events of a farm lot: certificate, two case aggregations, one shipment.

    The bulk of ``suyuan demo --events N`` and of the benchmark workload.
    """

    def __init__(self, s: Scenario, market: Organisation, *, lots_before: int = 0) -> None:
        """``lots_before``: lots are numbered from ``lots_before + 1`` (lot, case and waybill
        numbers), so a second maker can add lots to a ledger the first one filled."""
        self._s = s
        self._market = market
        self._lots = lots_before

    def events(self, farm: Organisation, count: int) -> list[Event]:
        events: list[Event] = []
        while len(events) < count:
            events.extend(self._lot(farm))
        return events[:count]

    def _lot(self, farm: Organisation) -> list[Event]:
        s = self._s
        self._lots += 1
        lot = f"LA{self._lots:08d}"
        lot_code = s.unit_code(item="10010", lot=lot)
        cert = vegetable_certificate(s, farm, lot_code, quantity="120", origin=farm)
        # Numbered, not random: millions of lots would repeat random SSCCs of 9 digits.
        cases = [s.sscc(serial=2 * self._lots + n) for n in range(2)]
        packs = [self._pack(farm, case, lot, n) for n, case in enumerate(cases)]
        ship = s.event(
            farm,
            "Shipped",
            {
                "to_org": self._market.uscc,
                "waybill_no": f"ZJYD{self._lots:012d}",
                "vehicle_plate": "浙A·D12345",
                "carrier": None,
                "destination": self._market.location(),
            },
            codes=cases,
            quantity="120",
            unit="kg",
        )
        return [cert, *packs, ship]

    def _pack(self, farm: Organisation, case: str, lot: str, case_no: int) -> Event:
        units = [
            self._s.unit_code(item="10010", lot=lot, serial=f"{case_no}{n:05d}")
            for n in range(UNITS_PER_CASE)
        ]
        return self._s.event(
            farm, "Aggregated", {"parent_code": case, "child_codes": units}, codes=[case, *units]
        )


def bulk_messages(
    s: Scenario,
    farms: list[Organisation],
    market: Organisation,
    events: int,
    per_message: int = 500,
) -> Iterator[tuple[int, bytes]]:
    """Signed messages of farm lots, ``per_message`` events each, until ``events`` are made.

    Yields (events in the message, message); the farms take turns signing.
    """
    lots = LotMaker(s, market)
    made = 0
    turn = 0
    while made < events:
        count = min(per_message, events - made)
        farm = farms[turn % len(farms)]
        yield count, s.sign(farm, lots.events(farm, count))
        made += count
        turn += 1


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")
