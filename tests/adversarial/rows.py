"""The attacks of the adversarial suite: one row per attack, with the legitimate event beside it.

Each :class:`Row` is an event a hostile (or merely mistaken) organisation signs with its own
registered key — so the signature is good — and the reason the ledger must refuse it with,
followed by the event the rule does allow. The rows cover every row of docs/authority.md that
refuses something, and the attacks of issue 10 that the authority and custody rules answer.

:func:`build` makes one :class:`Attacks`: the trust events registering every organisation, the
setup messages that put goods in the ledger (every one must be accepted), then the rows.
Deterministic for a seed, so the HTTP and Kafka runs see the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from suyuan.events.model import Event, freeze, thaw
from suyuan.foodchain import PURCHASER_COMMITMENT
from suyuan.scenario import Organisation, Scenario, vegetable_certificate
from suyuan_demo import demo_pseudonym

ROOT = "root"


@dataclass(frozen=True)
class Step:
    """One signed message: its signer (an organisation, or :data:`ROOT` for the root key)."""

    signer: Organisation | str
    events: tuple[Event, ...]

    def actor(self, s: Scenario) -> str:
        return s.regulator_uscc if self.signer == ROOT else self.org.uscc

    @property
    def org(self) -> Organisation:
        assert isinstance(self.signer, Organisation)
        return self.signer

    def message(self, s: Scenario) -> bytes:
        if self.signer == ROOT:
            return s.sign_as_root(list(self.events))
        return s.sign(self.org, list(self.events))


@dataclass(frozen=True)
class Row:
    name: str
    attack: Step
    reason: str
    field: str
    legit: Step
    prepare: Step | None = None
    """What makes the legitimate event legitimate (a shipment to the receiver), sent between."""

    @property
    def attack_event(self) -> Event:
        return self.attack.events[0]


@dataclass
class Attacks:
    s: Scenario
    orgs: dict[str, Organisation]
    trust: Step
    setup: list[Step] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def steps(self) -> list[Step]:
        """Every message in the order it is sent: trust, setup, then each attack and its
        legitimate neighbour."""
        return [
            self.trust,
            *self.setup,
            *(
                step
                for row in self.rows
                for step in (row.attack, row.prepare, row.legit)
                if step is not None
            ),
        ]


def build(seed: int = 10) -> Attacks:
    s = Scenario(seed)

    def org(name: str, roles: Sequence[str], region: str, **kw: str) -> Organisation:
        return s.organisation(name, roles, region, f"{name}地址", **kw)

    orgs = {
        "farm": org("临安区太湖源蔬菜专业合作社", ["PRODUCER"], "330185", registrar="N"),
        "victim": org("余杭区径山蔬菜专业合作社", ["PRODUCER"], "330110", registrar="N"),
        "market": org("杭州农副产品物流中心", ["MARKET", "PURCHASER"], "330105"),
        "shop": org("联华超市（文三路店）", ["RETAILER"], "330106"),
        "bureau": org("杭州市市场监督管理局", ["REGULATOR"], "330100", registrar="1"),
        "lab": org("浙江方圆检测集团", ["LAB"], "330108"),
        "plant": org("余杭生猪定点屠宰场", ["SLAUGHTERHOUSE"], "330110"),
        "importer": org("宁波甬兴进出口有限公司", ["IMPORTER"], "330206"),
        "warehouse": org("宁波北仑港集中监管仓", ["SUPERVISED_WAREHOUSE", "COLD_STORE"], "330206"),
        "cold_store": org("杭州冷链物流中心", ["COLD_STORE", "DISTRIBUTOR"], "330110"),
        "maker": org("浙江某生物制品有限公司", ["VACCINE_MAKER"], "330110"),
        "cdc": org("西湖区疾病预防控制中心", ["CDC"], "330106", registrar="1"),
        "clinic": org("北山街道社区卫生服务中心", ["CLINIC"], "330106", registrar="1"),
        "pharmacy": org("杭州老百姓大药房（文一店）", ["PHARMACY"], "330106"),
    }
    o = orgs
    attacks = Attacks(s, orgs, Step(ROOT, tuple(s.registration(*orgs.values()))))

    def ev(actor: Organisation, event_type: str, payload: dict[str, Any], **kw: Any) -> Event:
        return s.event(actor, event_type, payload, **kw)

    def setup(signer: Organisation, *events: Event) -> None:
        attacks.setup.append(Step(signer, events))

    def row(
        name: str,
        attack: Event,
        reason: str,
        field: str,
        legit: Event,
        prepare: Event | None = None,
    ) -> None:
        by = {org.uscc: org for org in orgs.values()}
        attacks.rows.append(
            Row(
                name,
                Step(by[attack.actor], (attack,)),
                reason,
                field,
                Step(by.get(legit.actor, ROOT), (legit,)),
                None if prepare is None else Step(by[prepare.actor], (prepare,)),
            )
        )

    # --- goods in the ledger before the attacks -------------------------------------------------
    farm_lot = s.unit_code(item="10010", lot="FARM0506")
    farm_cert = vegetable_certificate(s, o["farm"], farm_lot)
    victim_lot = s.unit_code(item="10027", lot="VICT0506")
    victim_cert = vegetable_certificate(s, o["victim"], victim_lot)
    victim_lot2 = s.unit_code(item="10034", lot="VICT0507")
    victim_cert2 = vegetable_certificate(s, o["victim"], victim_lot2)
    setup(o["farm"], farm_cert)
    setup(o["victim"], victim_cert, victim_cert2, ship(s, o["victim"], o["market"], victim_lot))
    setup(o["market"], receive(s, o["market"], o["victim"], victim_lot))
    doses = [s.drug_code("8123456", 10_000_000_000 + n) for n in range(1, 5)]
    released = lot_release(s, o["maker"], doses[:2], manufacturer=o["maker"].uscc)
    setup(o["maker"], released, ship(s, o["maker"], o["cdc"], doses[1]))
    setup(
        o["cdc"],
        receive(s, o["cdc"], o["maker"], doses[1]),
        ship(s, o["cdc"], o["clinic"], doses[1]),
    )
    setup(o["clinic"], receive(s, o["clinic"], o["cdc"], doses[1]))
    at_cdc = [s.drug_code("8123456", 10_000_000_010 + n) for n in (1, 2)]
    setup(
        o["maker"],
        lot_release(s, o["maker"], at_cdc, manufacturer=o["maker"].uscc),
        *(ship(s, o["maker"], o["cdc"], dose) for dose in at_cdc),
    )
    setup(
        o["cdc"],
        *(receive(s, o["cdc"], o["maker"], dose) for dose in at_cdc),
        ship(s, o["cdc"], o["clinic"], at_cdc[1]),
    )
    setup(o["clinic"], receive(s, o["clinic"], o["cdc"], at_cdc[1]))
    farm_lot2 = s.unit_code(item="10058", lot="FARM0507")
    farm_cert2 = vegetable_certificate(s, o["farm"], farm_lot2)
    setup(o["farm"], farm_cert2)
    victim_recall = recall(s, o["bureau"], [victim_lot])
    vaccine_recall = recall(s, o["bureau"], [doses[0]])
    setup(o["bureau"], victim_recall, vaccine_recall)

    # --- recalls --------------------------------------------------------------------------------
    row(
        "a producer recalls another organisation's goods",
        recall(s, o["farm"], [victim_lot2]),
        "unauthorised",
        "payload.root_codes[0]",
        recall(s, o["victim"], [victim_lot2]),
    )
    row(
        "a retailer starts a recall",
        recall(s, o["shop"], [farm_lot]),
        "unauthorised",
        "actor",
        recall(s, o["farm"], [farm_lot]),
    )
    row(
        "a clinic closes a regulator's vaccine recall",
        closure(s, o["clinic"], vaccine_recall),
        "unauthorised",
        "actor",
        closure(s, o["bureau"], vaccine_recall),
    )
    row(
        "a producer closes a regulator's recall",
        closure(s, o["farm"], victim_recall),
        "unauthorised",
        "actor",
        acknowledgement(s, o["victim"], victim_recall, victim_lot),
    )
    row(
        "an organisation that never held the goods acknowledges a recall",
        acknowledgement(s, o["cold_store"], victim_recall, victim_lot),
        "not_in_custody",
        "actor",
        acknowledgement(s, o["market"], victim_recall, victim_lot),
    )
    unknown = recall(s, o["bureau"], [victim_lot])  # never recorded
    row(
        "a recall that does not exist is closed",
        closure(s, o["bureau"], unknown),
        "unknown_recall",
        "payload.recall_id",
        closure(s, o["bureau"], victim_recall),
    )

    # --- inspections ----------------------------------------------------------------------------
    row(
        "a failed inspection by a non-lab on someone else's lot",
        s.pesticide_test(o["farm"], [victim_lot2], passed=False),
        "not_in_custody",
        "codes[0]",
        s.pesticide_test(o["lab"], [victim_lot2], passed=False, kind="COMMISSIONED_LAB"),
    )
    row(
        "a producer records an official sampling",
        s.pesticide_test(o["farm"], [farm_lot], passed=True, kind="OFFICIAL_SAMPLING"),
        "unauthorised",
        "payload.kind",
        s.pesticide_test(o["farm"], [farm_lot], passed=True),  # its own self-test
    )

    # --- vaccines and drugs ---------------------------------------------------------------------
    shot = administration(s, o["clinic"], doses[1])
    row(
        "a supermarket administers a vaccine",
        administration(s, o["shop"], doses[1]),
        "unauthorised",
        "actor",
        shot,
    )
    row(
        "a clinic administers a dose still at the CDC",
        administration(s, o["clinic"], at_cdc[0]),
        "not_in_custody",
        "codes[0]",
        administration(s, o["clinic"], at_cdc[1]),
    )
    row(
        "a producer releases a vaccine lot",
        lot_release(s, o["farm"], doses[2:3], manufacturer=o["farm"].uscc),
        "unauthorised",
        "actor",
        lot_release(s, o["maker"], doses[2:3], manufacturer=o["maker"].uscc),
    )
    row(
        "a maker releases another maker's lot",
        lot_release(s, o["maker"], doses[3:], manufacturer=o["importer"].uscc),
        "unauthorised",
        "payload.manufacturer",
        lot_release(s, o["maker"], doses[3:], manufacturer=o["maker"].uscc),
    )
    row(
        "a supermarket reports an adverse event",
        adverse_event(s, o["shop"], shot, doses[1]),
        "unauthorised",
        "actor",
        adverse_event(s, o["clinic"], shot, doses[1]),
    )
    drug = s.drug_code("8234567", 1)
    row(
        "a supermarket dispenses a prescription drug",
        dispensing(s, o["shop"], drug),
        "unauthorised",
        "actor",
        dispensing(s, o["pharmacy"], drug),
    )
    row(
        "a clinic sells goods over the counter",
        sale(s, o["clinic"], farm_lot),
        "unauthorised",
        "actor",
        sale(s, o["farm"], farm_lot),  # a farm-gate sale
    )

    # --- food-chain documents -------------------------------------------------------------------
    pigs = s.unit_code(item="20011", lot="PIG0506")
    carcass = s.unit_code(item="20028", lot="CA0506")
    row(
        "a farm certifies an animal quarantine",
        quarantine(s, o["farm"], pigs),
        "unauthorised",
        "actor",
        quarantine(s, o["plant"], pigs),
    )
    row(
        "a farm slaughters",
        slaughter(s, o["farm"], pigs, carcass),
        "unauthorised",
        "payload.process",
        slaughter(s, o["plant"], pigs, carcass),
    )
    row(
        "a market issues a meat quality certificate",
        meat_inspection(s, o["market"], carcass),
        "unauthorised",
        "actor",
        meat_inspection(s, o["plant"], carcass),
    )
    shop_lot = s.unit_code(item="10041", lot="SHOP0506")
    row(
        "a retailer issues a producer's certificate",
        vegetable_certificate(s, o["shop"], shop_lot),
        "unauthorised",
        "actor",
        vegetable_certificate(s, o["farm"], shop_lot),
    )
    row(
        "a producer issues a purchaser's certificate",
        purchaser_certificate(s, o["farm"], victim_lot, victim_cert.codes[0]),
        "unauthorised",
        "payload.issuer_type",
        purchaser_certificate(s, o["market"], victim_lot, victim_cert.codes[0]),
    )
    row(
        "a retailer voids a certificate",
        void(s, o["shop"], farm_cert.codes[0]),
        "unauthorised",
        "actor",
        void(s, o["farm"], farm_cert.codes[0]),
    )

    # --- the 合格证 rules that need the goods' history (docs/food-chain.md "The rules") -----------
    def market_lot(name: str) -> str:
        return s.unit_code(item="10089", lot=name)

    row(
        "a market certifies 5,000 kg citing a certificate of goods it never received",
        replace(
            purchaser_certificate(s, o["market"], market_lot("MKT0601"), farm_cert.codes[0]),
            quantity=Decimal(5000),
        ),
        "invalid_event",
        "payload.upstream_certificates[0]",
        purchaser_certificate(s, o["market"], market_lot("MKT0602"), victim_cert.codes[0]),
    )
    row(
        "a market certifies more than it received of the cited goods",
        replace(
            purchaser_certificate(s, o["market"], market_lot("MKT0603"), victim_cert.codes[0]),
            quantity=Decimal(5000),
        ),
        "invalid_event",
        "quantity",
        purchaser_certificate(s, o["market"], market_lot("MKT0604"), victim_cert.codes[0]),
    )
    bought_lot = s.unit_code(item="10027", lot="VICT0508")
    setup(o["victim"], ship(s, o["victim"], o["farm"], bought_lot))
    setup(o["farm"], receive(s, o["farm"], o["victim"], bought_lot))
    row(
        "a rival farm certifies a lot it bought as its own produce",
        vegetable_certificate(s, o["farm"], bought_lot),
        "invalid_event",
        "codes[1]",
        vegetable_certificate(s, o["farm"], s.unit_code(item="10027", lot="FARM0508")),
    )
    recalled_lot = s.unit_code(item="10096", lot="RCL0506")
    open_recall = recall(s, o["bureau"], [recalled_lot])
    setup(o["farm"], vegetable_certificate(s, o["farm"], recalled_lot))
    setup(o["bureau"], open_recall)
    row(
        "a new certificate for a lot under an open recall",
        vegetable_certificate(s, o["farm"], recalled_lot),
        "invalid_event",
        "codes[1]",
        vegetable_certificate(s, o["farm"], s.unit_code(item="10096", lot="RCL0507")),
    )
    frozen_lot, new_case = s.unit_code(item="10102", lot="FRZ0506"), s.sscc()
    setup(o["farm"], vegetable_certificate(s, o["farm"], frozen_lot))
    setup(o["lab"], s.pesticide_test(o["lab"], [frozen_lot], passed=False, kind="COMMISSIONED_LAB"))
    setup(o["farm"], pack(s, o["farm"], new_case, [frozen_lot]))
    row(
        "a frozen lot packed into a new case and certified again",
        vegetable_certificate(s, o["farm"], new_case),
        "invalid_event",
        "codes[1]",
        vegetable_certificate(s, o["farm"], s.unit_code(item="10102", lot="FRZ0507")),
    )
    tested_lot = s.unit_code(item="10119", lot="OLD0506")
    old_test = s.pesticide_test(o["farm"], [tested_lot], passed=True)
    seven_months_ago = old_test.occurred_at - timedelta(days=213)
    old_test = replace(old_test, occurred_at=seven_months_ago)
    setup(o["farm"], old_test)
    back_dated = vegetable_certificate(
        s, o["farm"], tested_lot, basis="SELF_TESTED", inspection=old_test.event_id
    )
    row(
        "a certificate back-dated seven months on a seven-month-old test",
        replace(
            back_dated,
            payload=freeze({**thaw(back_dated.payload), "issue_date": seven_months_ago.date()}),
        ),
        "invalid_event",
        "payload.issue_date",
        vegetable_certificate(s, o["farm"], tested_lot),
    )

    # --- the import cold chain ------------------------------------------------------------------
    packages = [s.unit_code(item="10273", serial=f"0301{n:03d}") for n in range(1, 3)]
    row(
        "a farm declares an import",
        import_declaration(s, o["farm"], packages[:1], importer=o["farm"].uscc),
        "unauthorised",
        "actor",
        import_declaration(s, o["importer"], packages[:1], importer=o["importer"].uscc),
    )
    row(
        "an importer declares in another importer's name",
        import_declaration(s, o["importer"], packages[1:], importer=o["market"].uscc),
        "unauthorised",
        "payload.importer",
        import_declaration(s, o["importer"], packages[1:], importer=o["importer"].uscc),
    )
    for package in packages:
        setup_later = ship(s, o["importer"], o["warehouse"], package)
        row(
            "a 集中监管仓 takes in goods nobody shipped to it"
            + ("" if package == packages[0] else " (second package)"),
            receive(s, o["warehouse"], o["importer"], package),
            "not_in_custody",
            "codes[0]",
            receive(s, o["warehouse"], o["importer"], package),
            prepare=setup_later,
        )
    row(
        "a cold store acts as a 集中监管仓",
        storage(s, o["cold_store"], packages, "SUPERVISED_WAREHOUSE"),
        "unauthorised",
        "payload.facility",
        storage(s, o["warehouse"], packages, "SUPERVISED_WAREHOUSE"),
    )
    row(
        "a retailer stores goods as a cold store",
        storage(s, o["shop"], packages, "COLD_STORE"),
        "unauthorised",
        "actor",
        storage(s, o["warehouse"], packages, "COLD_STORE"),
    )
    row(
        "a supermarket disinfects imported goods",
        disinfection(s, o["shop"], packages),
        "unauthorised",
        "actor",
        disinfection(s, o["warehouse"], packages),
    )
    row(
        "a farm assigns cold-chain codes",
        codes_assigned(s, o["farm"], packages),
        "unauthorised",
        "actor",
        codes_assigned(s, o["warehouse"], packages),
    )
    row(
        "a retailer releases goods from a 集中监管仓",
        release(s, o["shop"], packages, o["cold_store"]),
        "unauthorised",
        "actor",
        release(s, o["warehouse"], packages, o["cold_store"]),
    )
    # 四个不得 (docs/cold-chain.md): the 集中监管仓 releases only with 三证 passed and 溯源码.
    failed_batch = [s.unit_code(item="10280", serial=f"0302{n:03d}") for n in range(1, 3)]
    uncoded_batch = [s.unit_code(item="10297", serial=f"0303{n:03d}") for n in range(1, 3)]
    for batch, nucleic_passed in ((failed_batch, False), (uncoded_batch, True)):
        declared = import_declaration(
            s, o["importer"], batch, importer=o["importer"].uscc, nucleic_passed=nucleic_passed
        )
        handed = [ship(s, o["importer"], o["warehouse"], code) for code in batch]
        setup(o["importer"], declared, *handed)
        setup(o["warehouse"], *(receive(s, o["warehouse"], o["importer"], c) for c in batch))
    setup(o["warehouse"], codes_assigned(s, o["warehouse"], failed_batch))
    row(
        "a 集中监管仓 releases goods whose 核酸 paper failed",
        release(s, o["warehouse"], failed_batch, o["cold_store"]),
        "invalid_event",
        "codes[0]",
        release(s, o["warehouse"], packages, o["cold_store"]),
    )
    early = release(s, o["warehouse"], uncoded_batch, o["cold_store"])
    coding = codes_assigned(s, o["warehouse"], uncoded_batch)
    row(
        "a 集中监管仓 releases goods before giving them their 溯源码",
        early,
        "invalid_event",
        "codes[0]",
        release(s, o["warehouse"], uncoded_batch, o["cold_store"]),
        prepare=coding,
    )

    # --- moving goods: only organisations that handle goods -------------------------------------
    case = s.sscc()
    row(
        "a laboratory packs goods",
        pack(s, o["lab"], case, [farm_lot]),
        "unauthorised",
        "actor",
        pack(s, o["farm"], case, [farm_lot]),
    )
    row(
        "a regulator ships goods",
        ship(s, o["bureau"], o["market"], case),
        "unauthorised",
        "actor",
        ship(s, o["farm"], o["market"], case),
    )
    row(
        "a laboratory receives goods",
        receive(s, o["lab"], o["farm"], case),
        "unauthorised",
        "actor",
        receive(s, o["market"], o["farm"], case),
    )
    row(
        "a regulator unpacks goods",
        unpack(s, o["bureau"], case, [farm_lot]),
        "unauthorised",
        "actor",
        unpack(s, o["market"], case, [farm_lot]),
    )
    row(
        "a regulator records a temperature excursion",
        temperature(s, o["bureau"], packages),
        "unauthorised",
        "actor",
        temperature(s, o["warehouse"], packages),
    )
    row(
        "a laboratory destroys goods",
        destruction(s, o["lab"], victim_lot2),
        "unauthorised",
        "actor",
        destruction(s, o["victim"], victim_lot2),
    )

    # --- custody: goods the actor never held ------------------------------------------------------
    row(
        "a certificate over a lot the issuer never held",
        purchaser_certificate(s, o["market"], victim_lot2, victim_cert2.codes[0]),
        "not_in_custody",
        "codes[1]",
        purchaser_certificate(s, o["market"], victim_lot, victim_cert.codes[0]),  # received
    )
    row(
        "a void listing someone else's lot",
        void(s, o["farm"], farm_cert2.codes[0], victim_lot2),
        "not_in_custody",
        "codes[1]",
        void(s, o["farm"], farm_cert2.codes[0], farm_lot2),
    )
    repacked = s.unit_code(item="10065", lot="MKT0506")
    row(
        "a transformation of goods never received",
        repacking(s, o["market"], victim_lot2, repacked),
        "not_in_custody",
        "payload.inputs[0].code",
        repacking(s, o["market"], victim_lot, repacked),
    )
    row(
        "a temperature excursion put on another maker's unit",
        temperature(s, o["cold_store"], doses[3:]),
        "not_in_custody",
        "codes[0]",
        temperature(s, o["maker"], doses[3:]),
    )
    row(
        "a Stored event about any code, to see it as a holder",
        storage(s, o["cold_store"], [farm_lot2], "COLD_STORE"),
        "not_in_custody",
        "codes[0]",
        storage(s, o["market"], [farm_lot], "WAREHOUSE"),
    )
    row(
        "a receipt of goods nobody shipped to the receiver",
        receive(s, o["shop"], o["victim"], victim_lot2),
        "not_in_custody",
        "codes[0]",
        receive(s, o["shop"], o["farm"], farm_lot2),
        prepare=ship(s, o["farm"], o["shop"], farm_lot2),
    )
    row(
        "a sale of goods never held",
        sale(s, o["shop"], victim_lot2),
        "not_in_custody",
        "codes[0]",
        sale(s, o["shop"], farm_lot2),
    )

    # A serialised unit is part of its GS1 lot (docs/codes.md "Lots and their units"): a unit no
    # event has named yet is still the lot's holder's, not the first packer's.
    victim_unit = f"{victim_lot2}(21)000001"
    row(
        "units of another producer's lot packed into the attacker's case",
        pack(s, o["farm"], s.sscc(), [victim_unit]),
        "not_in_custody",
        "payload.child_codes[0]",
        pack(s, o["victim"], s.sscc(), [victim_unit]),
    )
    # ... and a lot nobody has named yet is not new goods when another organisation already holds
    # units of it: certifying it first would make the certifier a holder of those units.
    packed_lot = s.unit_code(item="10089", lot="VICT0508")
    setup(o["victim"], pack(s, o["victim"], s.sscc(), [f"{packed_lot}(21)000001"]))
    row(
        "a certificate of a lot whose units another organisation already packed",
        vegetable_certificate(s, o["farm"], packed_lot),
        "not_in_custody",
        "codes[1]",  # codes[0] is the certificate's own code
        vegetable_certificate(s, o["victim"], packed_lot),
    )

    # --- trust events -----------------------------------------------------------------------------
    newcomer = s.organisation("建德市新安江蔬菜专业合作社", ["PRODUCER"], "330182", "建德市")
    registration = s.registration(newcomer)[0]
    forged_by_farm = s.event(
        o["farm"], registration.event_type, {**registration.payload, "roles": ["PRODUCER"]}
    )
    attacks.rows.append(
        Row(
            "a producer registers an organisation",
            Step(o["farm"], (forged_by_farm,)),
            "wrong_signer",
            "events[0].event_type",
            Step(ROOT, (registration,)),
        )
    )

    # --- bounds at the door and event ids (docs/events.md "Bounds", docs/ledger.md) ---------------
    def fresh_certificate(lot: str) -> Event:
        return vegetable_certificate(s, o["farm"], s.unit_code(item="10072", lot=lot))

    row(
        "an event dated 0001-01-01T00:00:00+14:00",
        replace(fresh_certificate("EARLY01"), occurred_at=datetime(1, 1, 1, tzinfo=_PLUS_14)),
        "invalid_event",
        "occurred_at",
        fresh_certificate("EARLY02"),
    )
    row(
        "an event dated 9999-12-31T23:59:59-12:00",
        replace(
            fresh_certificate("LATE01"),
            occurred_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=_MINUS_12),
        ),
        "invalid_event",
        "occurred_at",
        fresh_certificate("LATE02"),
    )
    overlong = import_declaration(s, o["importer"], [s.sscc()], importer=o["importer"].uscc)
    row(
        "an import with a shelf life of 3,000,000 days",
        replace(overlong, payload=freeze({**thaw(overlong.payload), "shelf_life_days": 3_000_000})),
        "invalid_event",
        "payload.shelf_life_days",
        import_declaration(s, o["importer"], [s.sscc()], importer=o["importer"].uscc),
    )
    row(
        "an event under another organisation's stored event id",
        replace(fresh_certificate("TAKEN01"), event_id=victim_cert.event_id),
        "id_conflict",
        "event_id",
        fresh_certificate("TAKEN02"),
    )
    return attacks


_PLUS_14 = timezone(timedelta(hours=14))
_MINUS_12 = timezone(timedelta(hours=-12))


# --- event makers -------------------------------------------------------------------------------


def ship(s: Scenario, by: Organisation, to: Organisation, code: str) -> Event:
    return s.event(
        by,
        "Shipped",
        {
            "to_org": to.uscc,
            "waybill_no": f"WB{s.rng.randrange(10**8):08d}",
            "vehicle_plate": None,
            "carrier": None,
            "destination": to.location(),
        },
        codes=[code],
        quantity="500",
        unit="kg",
    )


def receive(s: Scenario, by: Organisation, sender: Organisation, code: str) -> Event:
    return s.event(
        by,
        "Received",
        {
            "from_org": sender.uscc,
            "waybill_no": None,
            "upstream_certificates": [],
            "check_passed": True,
            "check_note": None,
        },
        codes=[code],
        quantity="500",
        unit="kg",
    )


def pack(s: Scenario, by: Organisation, parent: str, children: list[str]) -> Event:
    return s.event(
        by,
        "Aggregated",
        {"parent_code": parent, "child_codes": children},
        codes=[parent, *children],
    )


def unpack(s: Scenario, by: Organisation, parent: str, children: list[str]) -> Event:
    return s.event(
        by,
        "Disaggregated",
        {"parent_code": parent, "child_codes": children},
        codes=[parent, *children],
    )


def recall(s: Scenario, by: Organisation, roots: list[str]) -> Event:
    return s.event(
        by,
        "RecallInitiated",
        {
            "recall_id": s.event_id(),
            "root_codes": roots,
            "reason": "抽检不合格",
            "level": "LEVEL_2",
        },
        codes=roots,
    )


def closure(s: Scenario, by: Organisation, recall_event: Event) -> Event:
    return s.event(
        by,
        "RecallClosed",
        {"recall_id": recall_event.payload["recall_id"], "summary": "已全部召回并销毁"},
        codes=list(recall_event.payload["root_codes"]),  # how trace and progress find it
    )


def acknowledgement(s: Scenario, by: Organisation, recall_event: Event, code: str) -> Event:
    return s.event(
        by,
        "RecallAcknowledged",
        {"recall_id": recall_event.payload["recall_id"], "note": "已下架封存"},
        codes=[code],
    )


def lot_release(s: Scenario, by: Organisation, doses: list[str], *, manufacturer: str) -> Event:
    return s.event(
        by,
        "VaccineLotReleased",
        {
            "product_name": "乙型肝炎疫苗(酿酒酵母)",
            "lot_no": "202604015",
            "manufacturer": manufacturer,
            "release_certificate_no": "SJ20260415-0321",
            "release_authority": "中国食品药品检定研究院",
            "expiry_date": "2029-03-31",
        },
        codes=doses,
        quantity=str(len(doses)),
        unit="剂",
    )


def administration(s: Scenario, by: Organisation, dose: str) -> Event:
    return s.event(
        by,
        "VaccineAdministered",
        {
            "clinic_name": by.name,
            "dose_no": 1,
            "recipient_pseudonym": demo_pseudonym("adversarial-recipient"),
        },
        codes=[dose],
        quantity="1",
        unit="剂",
    )


def adverse_event(s: Scenario, by: Organisation, shot: Event, dose: str) -> Event:
    return s.event(
        by,
        "AdverseEventReported",
        {
            "recipient_pseudonym": shot.payload["recipient_pseudonym"],
            "administered_event_id": shot.event_id,
            "onset_at": s.clock.isoformat(),
            "classification": "PENDING",
            "serious": False,
            "symptoms": "接种部位红肿",
            "report_no": None,
        },
        codes=[dose],
    )


def dispensing(s: Scenario, by: Organisation, drug: str) -> Event:
    return s.event(
        by,
        "Dispensed",
        {"kind": "PRESCRIPTION", "insurance_settlement_no": None},
        codes=[drug],
        quantity="1",
        unit="盒",
    )


def sale(s: Scenario, by: Organisation, code: str) -> Event:
    return s.event(
        by,
        "Sold",
        {"channel": "RETAIL", "buyer": None, "receipt_no": None},
        codes=[code],
        quantity="1.5",
        unit="kg",
    )


def quarantine(s: Scenario, by: Organisation, code: str) -> Event:
    return s.event(
        by,
        "AnimalQuarantineCertified",
        {
            "certificate_no": f"33{s.rng.randrange(10**8):08d}",
            "form": "ANIMAL_B",
            "species": "生猪",
            "origin": "浙江省湖州市德清县",
            "destination": "浙江省杭州市余杭区",
            "issuing_authority": "德清县动物卫生监督所",
        },
        codes=[code],
        quantity="10",
        unit="头",
    )


def slaughter(s: Scenario, by: Organisation, pigs: str, carcass: str) -> Event:
    return s.event(
        by,
        "Transformed",
        {
            "process": "SLAUGHTER",
            "inputs": [{"code": pigs, "quantity": "10", "unit": "头"}],
            "outputs": [{"code": carcass, "quantity": "800", "unit": "kg"}],
        },
        codes=[pigs, carcass],
    )


def meat_inspection(s: Scenario, by: Organisation, code: str) -> Event:
    return s.event(
        by,
        "MeatQualityInspected",
        {
            "certificate_no": f"RP{s.rng.randrange(10**6):06d}",
            "species": "生猪",
            "quarantine_certificate_no": None,
            "passed": True,
        },
        codes=[code],
    )


def purchaser_certificate(s: Scenario, by: Organisation, lot: str, upstream: str) -> Event:
    event = vegetable_certificate(s, by, lot, upstream=(upstream,), quantity="100")
    assert event.payload["commitment"] == PURCHASER_COMMITMENT
    return event


def void(s: Scenario, by: Organisation, certificate: str, *goods: str) -> Event:
    return s.event(
        by,
        "CertificateVoided",
        {"reason": "重量填写错误，作废", "replacement_code": None},
        codes=[certificate, *goods],
    )


def repacking(s: Scenario, by: Organisation, source: str, product: str) -> Event:
    return s.event(
        by,
        "Transformed",
        {
            "process": "REPACKING",
            "inputs": [{"code": source, "quantity": "100", "unit": "kg"}],
            "outputs": [{"code": product, "quantity": "100", "unit": "kg"}],
        },
        codes=[source, product],
    )


def import_declaration(
    s: Scenario,
    by: Organisation,
    packages: list[str],
    *,
    importer: str,
    nucleic_passed: bool = True,
) -> Event:
    return s.event(
        by,
        "ImportDeclared",
        {
            "product_name": "冷冻去骨牛肉",
            "origin_country": "BR",
            "batch_no": "SIF1234-260301",
            "container_no": "CSQU3054383",
            "production_date": "2026-03-01",
            "shelf_life_days": 730,
            "importer": importer,
            "customs_declaration_no": None,
            "quarantine_certificate": {"number": "310400126000567", "passed": True},
            "nucleic_acid_test": {"number": "NBHS-1", "passed": nucleic_passed},
            "disinfection_certificate": {"number": "NBXD-1", "passed": True},
        },
        codes=packages,
        quantity="20",
        unit="kg",
    )


def storage(s: Scenario, by: Organisation, packages: list[str], facility: str) -> Event:
    return s.event(
        by,
        "Stored",
        {"facility": facility, "storage_unit": "冷冻库3号"},
        codes=packages,
        quantity=str(len(packages)),
        unit="箱",
    )


def release(s: Scenario, by: Organisation, packages: list[str], to: Organisation) -> Event:
    return s.event(
        by,
        "Released",
        {
            "facility": "SUPERVISED_WAREHOUSE",
            "release_certificate_no": "NBJGC-20260522-0108",
            "released_to": to.uscc,
        },
        codes=packages,
        quantity=str(len(packages)),
        unit="箱",
    )


def disinfection(s: Scenario, by: Organisation, packages: list[str]) -> Event:
    return s.event(
        by,
        "Disinfected",
        {
            "target": "OUTER_PACKAGING",
            "disinfectant": "过氧乙酸(0.5%)",
            "certificate_no": "NBXD-1",
            "operator": None,
        },
        codes=packages,
    )


def codes_assigned(s: Scenario, by: Organisation, packages: list[str]) -> Event:
    return s.event(
        by,
        "ColdChainCodesAssigned",
        {
            "station_name": by.name,
            "product_name": "冷冻去骨牛肉",
            "import_batch_no": "SIF1234-260301",
            "container_no": "CSQU3054383",
        },
        codes=packages,
    )


def temperature(s: Scenario, by: Organisation, packages: list[str]) -> Event:
    return s.event(
        by,
        "TemperatureRecorded",
        {
            "device_id": "TL-88-0421",
            "container_no": None,
            "readings": [{"at": s.clock.isoformat(), "celsius": -12.5}],
            "min_celsius": -25.0,
            "max_celsius": -18.0,
        },
        codes=packages,
    )


def destruction(s: Scenario, by: Organisation, code: str) -> Event:
    return s.event(
        by,
        "Destroyed",
        {
            "method": "INCINERATION",
            "reason": "召回产品销毁",
            "supervised_by": None,
            "recall_id": None,
        },
        codes=[code],
        quantity="500",
        unit="kg",
    )
