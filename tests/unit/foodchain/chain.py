"""A small food chain on a real SQLite ledger, for the food-chain rules' tests.

Farm (临安, 330185) → cooperative (purchaser, 余杭 330110) → wholesale market (拱墅 330105) →
supermarket (西湖 330106); a regulator (杭州 330100), a laboratory, a slaughterhouse (萧山
330109) and a cold store. Events go in through the one write path (``LedgerWriter``) signed by
their organisation, so the ledger is what production would hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from suyuan.events.model import Event
from suyuan.foodchain import PRODUCER_COMMITMENT, PURCHASER_COMMITMENT, Reads
from suyuan.intake import LedgerWriter, Message
from suyuan.ledger import (
    TRUST_SHARD,
    Rejection,
    SqlLedgerStore,
    create_ledger_engine,
    initialise,
    migrate,
)
from suyuan.scenario import Organisation, Scenario
from suyuan.tlog import NoteSigner

CONTACT = "0571-63781234"


@dataclass
class Chain:
    store: SqlLedgerStore
    s: Scenario
    writer: LedgerWriter
    farm: Organisation
    coop: Organisation
    market: Organisation
    shop: Organisation
    bureau: Organisation
    lab: Organisation
    plant: Organisation
    cold_store: Organisation
    importer: Organisation

    @classmethod
    def open(cls, path: Path) -> Chain:
        engine = create_ledger_engine(f"sqlite:///{path}")
        migrate(engine)
        store = SqlLedgerStore(engine)
        s = Scenario(seed=7)
        initialise(store, NoteSigner.generate("test").verifier, [s.root])
        orgs = {
            "farm": s.organisation(
                "临安区太湖源蔬菜专业合作社",
                ["PRODUCER"],
                "330185",
                "浙江省杭州市临安区太湖源镇白沙村",
                registrar="N",
                entity_type="2",
            ),
            "coop": s.organisation(
                "余杭区良渚农产品收购站", ["PURCHASER"], "330110", "浙江省杭州市余杭区良渚街道"
            ),
            "market": s.organisation(
                "杭州农副产品物流中心", ["MARKET", "PURCHASER"], "330105", "杭州市拱墅区石祥路71号"
            ),
            "shop": s.organisation("联华超市（文三路店）", ["RETAILER"], "330106", "杭州市西湖区"),
            "bureau": s.organisation(
                "杭州市市场监督管理局",
                ["REGULATOR"],
                "330100",
                "杭州市上城区",
                registrar="1",
                entity_type="1",
            ),
            "lab": s.organisation("浙江方圆检测集团", ["LAB"], "330108", "杭州市滨江区"),
            "plant": s.organisation(
                "萧山生猪定点屠宰场", ["SLAUGHTERHOUSE"], "330109", "杭州市萧山区"
            ),
            "cold_store": s.organisation(
                "杭州冷链物流中心", ["COLD_STORE", "DISTRIBUTOR"], "330110", "杭州市余杭区"
            ),
            "importer": s.organisation(
                "宁波甬兴进出口有限公司", ["IMPORTER"], "330206", "宁波市北仑区"
            ),
        }
        writer = LedgerWriter(store, [s.root])
        trust = s.registration(*orgs.values())
        written = writer.write(TRUST_SHARD, [Message("trust", s.sign_as_root(trust))])
        assert written.accepted == len(trust), written.rejections
        return cls(store=store, s=s, writer=writer, **orgs)

    def reads(self) -> Reads:
        return Reads(self.store)

    def add(self, org: Organisation, *events: Event) -> list[Event]:
        """Append ``events`` signed by ``org``; every one must be accepted."""
        written = self.writer.write(0, [Message("test", self.s.sign(org, list(events)))])
        assert written.accepted == len(events), written.rejections
        return list(events)

    def tell(
        self, story: Sequence[tuple[Organisation, Sequence[Event]]], *, one_write: bool
    ) -> dict[str, Rejection]:
        """Send each (organisation, events) of ``story`` as a message signed by it, all in one
        write (a worker with a backlog) or one write each; the rejections by event id."""
        messages = [
            Message(f"step {number}", self.s.sign(org, list(events)))
            for number, (org, events) in enumerate(story)
        ]
        writes = [messages] if one_write else [[message] for message in messages]
        rejections = [r for batch in writes for r in self.writer.write(0, batch).rejections]
        return {str(r.event_id): r for r in rejections}

    # --- codes ---------------------------------------------------------------------------------

    def lot(self, name: str, item: str = "10010") -> str:
        return self.s.unit_code(item=item, lot=name)

    def case(self) -> str:
        return self.s.sscc()

    # --- events --------------------------------------------------------------------------------

    def certificate(
        self,
        org: Organisation,
        lots: Sequence[str] = (),
        *,
        code: str | None = None,
        upstream: Sequence[str] = (),
        basis: str = "QUALITY_CONTROL",
        inspection: str | None = None,
        commitment: str | None = None,
        issue_date: date | None = None,
        quantity: str = "500",
        contact: str = CONTACT,
        issuer_type: str | None = None,
    ) -> Event:
        kind = issuer_type or ("PURCHASER" if upstream else "PRODUCER")
        default = PURCHASER_COMMITMENT if kind == "PURCHASER" else PRODUCER_COMMITMENT
        at = self.s.tick()
        return self.s.event(
            org,
            "CertificateIssued",
            {
                "issuer_type": kind,
                "product_name": "小青菜",
                "category": "VEGETABLES",
                "origin": "浙江省杭州市临安区太湖源镇白沙村",
                "origin_region_code": "330185",
                "issue_date": (issue_date or at.date()).isoformat(),
                "contact": contact,
                "commitment": default if commitment is None else commitment,
                "basis": basis,
                "inspection_event_id": inspection,
                "upstream_certificates": list(upstream),
            },
            codes=[code or self.s.certificate_code(), *lots],
            quantity=quantity,
            unit="kg",
            at=at,
        )

    def inspection(
        self,
        org: Organisation,
        codes: Sequence[str],
        *,
        passed: bool = True,
        kind: str = "RAPID_TEST",
        lab: str | None = None,
    ) -> Event:
        return self.s.pesticide_test(org, codes, passed=passed, kind=kind, lab=lab)

    def void(self, org: Organisation, code: str, replacement: str | None = None) -> Event:
        return self.s.event(
            org,
            "CertificateVoided",
            {"reason": "重量填写错误，作废重开", "replacement_code": replacement},
            codes=[code],
        )

    def pack(self, org: Organisation, parent: str, children: Sequence[str]) -> Event:
        return self.s.event(
            org,
            "Aggregated",
            {"parent_code": parent, "child_codes": list(children)},
            codes=[parent, *children],
        )

    def unpack(self, org: Organisation, parent: str, children: Sequence[str]) -> Event:
        return self.s.event(
            org,
            "Disaggregated",
            {"parent_code": parent, "child_codes": list(children)},
            codes=[parent, *children],
        )

    def ship(
        self,
        org: Organisation,
        to: Organisation,
        codes: Sequence[str],
        quantity: str,
        *,
        unit: str = "kg",
        disposition: str | None = None,
    ) -> Event:
        return self.s.event(
            org,
            "Shipped",
            {
                "to_org": to.uscc,
                "waybill_no": f"WB{self.s.rng.randrange(10**8):08d}",
                "vehicle_plate": None,
                "carrier": None,
                "destination": to.location(),
            },
            codes=list(codes),
            quantity=quantity,
            unit=unit,
            disposition=disposition,
        )

    def receive(
        self,
        org: Organisation,
        sender: Organisation,
        codes: Sequence[str],
        quantity: str,
        *,
        certificates: Sequence[str] = (),
        unit: str = "kg",
    ) -> Event:
        return self.s.event(
            org,
            "Received",
            {
                "from_org": sender.uscc,
                "waybill_no": None,
                "upstream_certificates": list(certificates),
                "check_passed": True,
                "check_note": None,
            },
            codes=list(codes),
            quantity=quantity,
            unit=unit,
        )

    def sell(self, org: Organisation, codes: Sequence[str], quantity: str) -> Event:
        return self.s.event(
            org,
            "Sold",
            {"channel": "RETAIL", "buyer": None, "receipt_no": None},
            codes=list(codes),
            quantity=quantity,
            unit="kg",
            biz_step="retail_selling",
            disposition="retail_sold",
        )

    def destroy(self, org: Organisation, codes: Sequence[str], quantity: str) -> Event:
        return self.s.event(
            org,
            "Destroyed",
            {
                "method": "INCINERATION",
                "reason": "抽检不合格，监督销毁",
                "supervised_by": None,
                "recall_id": None,
            },
            codes=list(codes),
            quantity=quantity,
            unit="kg",
        )

    def recall(self, roots: Sequence[str]) -> Event:
        return self.s.event(
            self.bureau,
            "RecallInitiated",
            {
                "recall_id": self.s.event_id(),
                "root_codes": list(roots),
                "reason": "监督抽检毒死蜱超标",
                "level": "LEVEL_2",
            },
            codes=list(roots),
        )

    def slaughter(
        self, inputs: Sequence[tuple[str, str, str]], outputs: Sequence[tuple[str, str, str]]
    ) -> Event:
        def entries(items: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
            return [{"code": c, "quantity": q, "unit": u} for c, q, u in items]

        return self.s.event(
            self.plant,
            "Transformed",
            {"process": "SLAUGHTER", "inputs": entries(inputs), "outputs": entries(outputs)},
            codes=[c for c, _q, _u in [*inputs, *outputs]],
        )

    def quarantine(self, codes: Sequence[str], form: str = "PRODUCT_A") -> Event:
        return self.s.event(
            self.plant,
            "AnimalQuarantineCertified",
            {
                "certificate_no": f"33{self.s.rng.randrange(10**8):08d}",
                "form": form,
                "species": "生猪",
                "origin": "杭州市萧山区",
                "destination": "杭州农副产品物流中心",
                "issuing_authority": "萧山区动物卫生监督所",
            },
            codes=list(codes),
            quantity="800",
            unit="kg",
        )

    def meat_inspection(self, codes: Sequence[str], *, passed: bool = True) -> Event:
        return self.s.event(
            self.plant,
            "MeatQualityInspected",
            {
                "certificate_no": f"RP{self.s.rng.randrange(10**6):06d}",
                "species": "生猪",
                "quarantine_certificate_no": None,
                "passed": passed,
            },
            codes=list(codes),
        )

    def temperature(
        self, org: Organisation, codes: Sequence[str], readings: Sequence[float]
    ) -> Event:
        return self.s.event(
            org,
            "TemperatureRecorded",
            {
                "device_id": "TL-88-0421",
                "container_no": None,
                "readings": [{"at": self.s.tick(5).isoformat(), "celsius": c} for c in readings],
                "min_celsius": -25.0,
                "max_celsius": -18.0,
            },
            codes=list(codes),
            biz_step="sensor_reporting",
        )
