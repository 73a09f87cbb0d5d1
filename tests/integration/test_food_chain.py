"""浙食链 end to end over HTTP: certificates, market entry, 批批检测 and its closed loop, meat.

Both services run in-process (FastAPI's TestClient) on one SQLite ledger: the capture API with
the certificate routes, the query API with the alert and coverage routes. Every organisation
signs through its custodial key; the regulator starts its recall through ``POST /v1/recalls``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from suyuan.auth import create_token
from suyuan.config import Settings
from suyuan.custody import create_custodial_key, key_registration_event
from suyuan.events import event_to_json
from suyuan.events.model import Event
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD
from suyuan.scenario import Organisation
from suyuan_ingest import _routes_certificates
from suyuan_ingest.api import create_app as create_ingest_app
from suyuan_trace_query.app import create_app as create_query_app
from tests.unit.foodchain.chain import CONTACT, Chain

BASE_URL = "https://trace.example.cn"
JSON = {"Content-Type": "application/json"}


@dataclass
class Services:
    chain: Chain
    ingest: TestClient
    query: TestClient
    tokens: dict[str, str]
    regulator: str
    ningbo: str
    admin: str

    # --- capture API -------------------------------------------------------------------------

    def post_events(self, org: Organisation, *events: Event) -> None:
        response = self.ingest.post(
            "/v1/events",
            content=json.dumps([event_to_json(e) for e in events], ensure_ascii=False).encode(),
            headers={**JSON, **self._auth(self.tokens[org.uscc])},
        )
        assert response.status_code == 202, response.text
        assert [r["status"] for r in response.json()["results"]] == ["accepted"] * len(events)

    def issue(self, org: Organisation, body: dict[str, Any]) -> Any:
        return self.ingest.post(
            "/v1/certificates", json=body, headers=self._auth(self.tokens[org.uscc])
        )

    def issued(self, org: Organisation, body: dict[str, Any]) -> str:
        response = self.issue(org, body)
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    def void(self, org: Organisation, code: str, body: dict[str, Any]) -> Any:
        return self.ingest.post(
            f"/v1/certificates/{code}/void", json=body, headers=self._auth(self.tokens[org.uscc])
        )

    # --- query API ---------------------------------------------------------------------------

    def alerts(self, token: str | None = None, **params: Any) -> Any:
        response = self.query.get(
            "/v1/alerts", params=params, headers=self._auth(token or self.regulator)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def trace(self, code: str, token: str | None = None) -> Any:
        headers = self._auth(token) if token else {}
        response = self.query.get(f"/v1/trace/{quote(code, safe='()')}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # --- bodies ------------------------------------------------------------------------------

    def certificate_body(
        self,
        lots: list[str],
        *,
        issuer_type: str = "PRODUCER",
        upstream: list[str] | None = None,
        basis: str = "QUALITY_CONTROL",
        inspection: str | None = None,
        quantity: str = "500",
        **payload: Any,
    ) -> dict[str, Any]:
        at = self.chain.s.tick()
        return {
            "payload": {
                "issuer_type": issuer_type,
                "product_name": "小青菜",
                "category": "VEGETABLES",
                "origin": "浙江省杭州市临安区太湖源镇白沙村",
                "origin_region_code": "330185",
                "issue_date": at.date().isoformat(),
                "contact": CONTACT,
                "basis": basis,
                "inspection_event_id": inspection,
                "upstream_certificates": upstream or [],
                **payload,
            },
            "quantity": quantity,
            "unit": "kg",
            "lot_codes": lots,
            "occurred_at": at.isoformat(),
        }


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    chain = Chain.open(tmp_path / "ledger.sqlite")
    engine = chain.store.engine
    master = secrets.token_bytes(32)
    orgs = [chain.farm, chain.coop, chain.market, chain.shop, chain.bureau, chain.plant]
    s = chain.s
    trust = [
        key_registration_event(
            s.regulator_uscc, org.uscc, create_custodial_key(engine, master, org.uscc)
        )
        for org in orgs
    ]
    assert chain.writer.write(
        TRUST_SHARD, [Message("custody", s.sign_as_root(trust))]
    ).accepted == len(trust)
    custody = dict(custody_master_key=SecretStr(base64.b64encode(master).decode()))
    # no ledger key file: proofs are not exercised here
    settings = Settings(
        database_url=url,
        public_base_url=BASE_URL,
        ledger_key_file=str(tmp_path / "ledger.key"),
    )
    ingest_app = create_ingest_app(settings.model_copy(update={**custody}))
    ingest_app.state.settings = settings
    ingest_app.include_router(_routes_certificates.router)
    query_app = create_query_app(
        settings.model_copy(update={**custody, **dict(query_rate_limit_per_second=0)}),
        store=chain.store,
    )
    with TestClient(ingest_app) as ingest, TestClient(query_app) as query:
        yield Services(
            chain=chain,
            ingest=ingest,
            query=query,
            tokens={
                org.uscc: create_token(engine, "producer", organisation=org.uscc) for org in orgs
            },
            regulator=create_token(engine, "regulator", region="330100"),
            ningbo=create_token(engine, "regulator", region="330200"),
            admin=create_token(engine, "admin"),
        )
    chain.store.close()


# --- the whole chain ----------------------------------------------------------------------------


def test_farm_to_consumer_through_a_cooperative_market_and_supermarket(services: Services) -> None:
    c = services.chain
    lot_1, lot_2, merged = c.lot("LA0506"), c.lot("LA0507"), c.lot("HZ0506", item="10027")

    # the farm tests its first lot and certifies both
    test = c.inspection(c.farm, [lot_1])
    services.post_events(c.farm, test)
    farm_issue = services.issue(
        c.farm,
        services.certificate_body([lot_1], basis="SELF_TESTED", inspection=test.event_id),
    )
    assert farm_issue.status_code == 201, farm_issue.text
    farm_body = farm_issue.json()
    cert_1 = farm_body["code"]
    assert farm_body["scan_url"] == f"{BASE_URL}/c/{cert_1}"
    assert farm_body["qr_svg_url"] == f"{BASE_URL}/v1/codes/{cert_1}/qr.svg"
    assert farm_body["label_url"] == f"{BASE_URL}/c/{cert_1}/label.svg"
    assert farm_body["event"]["payload"]["commitment"].startswith("未使用禁用农药")
    assert (
        services.query.get(f"/c/{cert_1}/label.svg")
        .headers["content-type"]
        .startswith("image/svg+xml")
    )
    assert services.query.get(f"/v1/codes/{cert_1}/qr.svg").status_code == 200
    cert_2 = services.issued(c.farm, services.certificate_body([lot_2], quantity="300"))
    services.post_events(
        c.farm,
        c.ship(c.farm, c.coop, [lot_1], "500"),
        c.ship(c.farm, c.coop, [lot_2], "300"),
    )

    # the cooperative receives both, merges them and certifies the merged lot (收购者)
    mixing = c.s.event(
        c.coop,
        "Transformed",
        {
            "process": "MIXING",
            "inputs": [
                {"code": lot_1, "quantity": "500", "unit": "kg"},
                {"code": lot_2, "quantity": "300", "unit": "kg"},
            ],
            "outputs": [{"code": merged, "quantity": "800", "unit": "kg"}],
        },
        codes=[lot_1, lot_2, merged],
    )
    services.post_events(
        c.coop,
        c.receive(c.coop, c.farm, [lot_1], "500", certificates=[cert_1]),
        c.receive(c.coop, c.farm, [lot_2], "300", certificates=[cert_2]),
        mixing,
    )
    coop_cert = services.issued(
        c.coop,
        services.certificate_body(
            [merged], issuer_type="PURCHASER", upstream=[cert_1, cert_2], quantity="800"
        ),
    )
    services.post_events(c.coop, c.ship(c.coop, c.market, [merged], "800"))

    # wholesale market → supermarket → a consumer
    services.post_events(
        c.market,
        c.receive(c.market, c.coop, [merged], "800", certificates=[coop_cert]),
        c.ship(c.market, c.shop, [merged], "200"),
    )
    services.post_events(
        c.shop,
        c.receive(c.shop, c.market, [merged], "200", certificates=[coop_cert]),
        c.sell(c.shop, [merged], "1.5"),
    )

    consumer = services.trace(merged)
    assert consumer["status"] == "ok"
    assert consumer["origin"]["organisation"] == c.farm.uscc
    assert {cert["codes"][0] for cert in consumer["certificates"]} == {cert_1, cert_2, coop_cert}
    path = [(e["event_type"], e["actor"]) for e in consumer["custody"]]
    assert path[0] == ("CertificateIssued", c.farm.uscc)
    assert ("Received", c.coop.uscc) in path and ("Sold", c.shop.uscc) in path
    page = services.query.get(f"/c/{quote(merged, safe='()')}")
    assert page.status_code == 200 and c.farm.name in page.text

    assert services.alerts()["count"] == 0
    coverage = services.query.get(
        "/v1/metrics/coverage", headers={"Authorization": f"Bearer {services.regulator}"}
    ).json()
    assert coverage["total"]["certificate_rate"]["numerator"] == 4
    assert coverage["total"]["certificate_rate"]["rate"] == 1.0
    assert coverage["total"]["testing_rate"] == {
        "numerator": 2,  # the farm's tested lot and the merged lot made from it
        "denominator": 3,
        "rate": pytest.approx(2 / 3),
        "target": None,
        "meets_target": None,
    }
    assert coverage["total"]["scan_rate"]["rate"] == 1.0
    assert coverage["total"]["scan_rate"]["meets_target"] is True
    assert set(coverage["definitions"]) == {
        "certificate_rate",
        "testing_rate",
        "coding_rate",
        "scan_rate",
    }


# --- failure paths ------------------------------------------------------------------------------


def test_receiving_without_a_certificate_raises_an_alert_against_the_buyer(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0508")
    services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    receipt = c.receive(c.market, c.farm, [lot], "500")
    services.post_events(c.market, receipt)

    body = services.alerts(kind="missing_certificate")

    [alert] = body["alerts"]
    assert alert["alert_id"] == f"missing_certificate:{receipt.event_id}"
    assert (alert["organisation"], alert["region"]) == (c.market.uscc, "330105")
    assert alert["counterparty"] == c.farm.uscc and alert["status"] == "open"
    assert alert["title"]["zh"] == "进货时未查验到有效的承诺达标合格证"
    assert services.alerts(services.ningbo)["count"] == 0  # another city's regulator
    # The farm did certify the lot: the buyer's missing paperwork does not make it uncertified.
    assert services.trace(lot)["verdict"]["state"] == "ok"


def test_goods_taken_in_without_any_certificate_show_attention(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0520")
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "500"))

    verdict = services.trace(lot)["verdict"]

    assert (verdict["state"], verdict["level"]) == ("attention", "caution")
    assert [f["rule"] for f in verdict["findings"]] == ["missing_certificate"]
    page = services.query.get(f"/c/{lot}").text
    assert 'data-status="attention"' in page and "进货时未查验到有效的承诺达标合格证" in page
    assert 'class="banner caution"' in page


def test_a_failed_test_freezes_the_lot_until_every_quantity_is_disposed_of(
    services: Services,
) -> None:
    c = services.chain
    lot = c.lot("LA0509")
    cert = services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(
        c.market,
        c.receive(c.market, c.farm, [lot], "500", certificates=[cert]),
        c.ship(c.market, c.shop, [lot], "100"),
    )
    services.post_events(
        c.shop,
        c.receive(c.shop, c.market, [lot], "100", certificates=[cert]),
        c.sell(c.shop, [lot], "2"),
    )
    sampling = c.inspection(c.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING")
    services.post_events(c.bureau, sampling)

    assert services.trace(lot)["status"] == "frozen"
    opened = services.alerts(kind="inspection_failed")
    [alert] = opened["alerts"]
    assert alert["status"] == "open" and alert["organisation"] == c.farm.uscc
    remaining = {h["organisation"]: h["remaining"] for h in alert["holders"]}
    assert remaining == {
        c.farm.uscc: [],
        c.market.uscc: [{"quantity": "400", "unit": "kg"}],
        c.shop.uscc: [{"quantity": "98", "unit": "kg"}],
    }
    assert {h["region"] for h in alert["holders"]} == {"330185", "330105", "330106"}
    assert _region_counts(opened) == {"330185": (1, 0)}
    assert opened["summary"]["disposal"] == {"closed": 0, "total": 1, "rate": 0.0}

    services.post_events(c.market, c.destroy(c.market, [lot], "400"))
    services.post_events(c.shop, c.destroy(c.shop, [lot], "98"))
    assert services.alerts(kind="inspection_failed")["alerts"][0]["outstanding"] == [
        f"{c.shop.name} ({c.shop.uscc}) sold 2 kg to consumers: a recall is needed"
    ]
    recall = services.query.post(
        "/v1/recalls",
        json={"root_codes": [lot], "reason": "监督抽检毒死蜱超标", "level": "LEVEL_2"},
        headers={"Authorization": f"Bearer {services.regulator}"},
    )
    assert recall.status_code == 201, recall.text

    closed = services.alerts(kind="inspection_failed")
    [done] = closed["alerts"]
    assert (done["status"], done["closed_reason"]) == ("closed", "disposed")
    assert done["outstanding"] == []
    assert _region_counts(closed) == {"330185": (0, 1)}
    assert closed["summary"]["disposal"] == {"closed": 1, "total": 1, "rate": 1.0}
    assert services.alerts(status="open", kind="inspection_failed")["count"] == 0


def test_void_and_reissue_keeps_the_voided_certificate_visible(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0510")
    wrong = services.issued(c.farm, services.certificate_body([lot], quantity="50"))
    right = services.issued(c.farm, services.certificate_body([lot]))

    assert services.void(c.market, wrong, {"reason": "x"}).status_code == 403
    assert services.void(c.farm, c.s.certificate_code(), {"reason": "x"}).status_code == 404
    assert (
        services.void(c.farm, wrong, {"reason": "x", "replacement": c.s.certificate_code()}).json()[
            "field"
        ]
        == "replacement"
    )
    voided = services.void(
        c.farm,
        wrong,
        {
            "reason": "重量填写错误，作废重开",
            "replacement": right,
            "occurred_at": c.s.tick().isoformat(),
        },
    )
    assert voided.status_code == 201, voided.text
    assert voided.json()["replacement_scan_url"] == f"{BASE_URL}/c/{right}"
    again = services.void(c.farm, wrong, {"reason": "再次作废"})
    assert (again.status_code, again.json()["reason"]) == (409, "already_voided")

    trace = services.trace(wrong)
    assert trace["status"] == "replaced"
    assert trace["voids"][0]["payload"]["replacement_code"] == right
    page = services.query.get(f"/c/{wrong}")
    assert "重量填写错误" in page.text and f"/c/{right}" in page.text

    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    receipt = c.receive(c.market, c.farm, [lot], "500", certificates=[wrong])
    services.post_events(c.market, receipt)
    [alert] = services.alerts(kind="missing_certificate")["alerts"]
    assert "voided before the goods were received" in alert["summary"]


def test_meat_with_only_one_of_its_two_certificates_raises_an_alert(services: Services) -> None:
    c = services.chain
    pigs, carcass = c.lot("PIG0506", item="10041"), c.lot("CA0506", item="10058")
    services.post_events(
        c.plant,
        c.slaughter([(pigs, "10", "头")], [(carcass, "800", "kg")]),
        c.quarantine([carcass]),
        c.ship(c.plant, c.market, [carcass], "800"),
    )

    [alert] = services.alerts(kind="meat_certificates_missing")["alerts"]

    assert (alert["organisation"], alert["region"]) == (c.plant.uscc, "330109")
    assert "肉品品质检验合格证" in alert["summary"] and alert["status"] == "open"
    verdict = services.trace(carcass)["verdict"]
    assert verdict["state"] == "attention"
    assert [f["rule"] for f in verdict["findings"]] == ["meat_certificates_missing"]


def test_a_wrong_commitment_is_refused_naming_the_field(services: Services) -> None:
    c = services.chain
    body = services.certificate_body([c.lot("LA0511")], commitment="保证产品质量安全")

    response = services.issue(c.farm, body)

    assert response.status_code == 422
    assert response.json()["field"] == "payload.commitment"
    assert "2025 rules" in response.json()["rule"]
    rejections = services.ingest.get(
        "/v1/rejections", headers={"Authorization": f"Bearer {services.tokens[c.farm.uscc]}"}
    ).json()["rejections"]
    assert rejections[0]["field"] == "payload.commitment"


def test_a_test_basis_without_a_passing_inspection_is_refused(services: Services) -> None:
    c = services.chain
    lot = c.lot("LA0512")
    failed = c.inspection(c.farm, [c.lot("LA9999")], passed=False)
    services.post_events(c.farm, failed)

    missing = services.issue(
        c.farm, services.certificate_body([lot], basis="SELF_TESTED", inspection=None)
    )
    not_passing = services.issue(
        c.farm,
        services.certificate_body([lot], basis="SELF_TESTED", inspection=failed.event_id),
    )

    assert (missing.status_code, missing.json()["field"]) == (422, "payload.inspection_event_id")
    assert (not_passing.status_code, not_passing.json()["field"]) == (
        422,
        "payload.inspection_event_id",
    )
    assert "failed" in not_passing.json()["rule"]


def test_request_errors_name_the_body_field(services: Services) -> None:
    c = services.chain
    bad_lot = services.issue(c.farm, services.certificate_body([c.lot("LA0513"), "no-such-code"]))
    no_product = services.certificate_body([])
    del no_product["payload"]["product_name"]

    assert (bad_lot.status_code, bad_lot.json()["field"]) == (422, "lot_codes[1]")
    missing = services.issue(c.farm, no_product)
    assert (missing.status_code, missing.json()["field"]) == (422, "payload.product_name")
    unknown_upstream = services.issue(
        c.coop,
        services.certificate_body(
            [c.lot("LA0514")], issuer_type="PURCHASER", upstream=[c.s.certificate_code()]
        ),
    )
    assert unknown_upstream.json()["field"] == "payload.upstream_certificates[0]"


def test_retrying_with_the_same_event_id_returns_the_same_certificate(
    services: Services,
) -> None:
    c = services.chain
    body = {**services.certificate_body([c.lot("LA0515")]), "event_id": c.s.event_id()}

    first = services.issue(c.farm, body)
    second = services.issue(c.farm, body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["code"] == first.json()["code"]
    assert second.json()["status"] == "duplicate"


def test_only_regulators_and_admins_see_alerts_within_their_region(services: Services) -> None:
    c = services.chain
    producer = services.tokens[c.farm.uscc]

    assert (
        services.query.get(
            "/v1/alerts", headers={"Authorization": f"Bearer {producer}"}
        ).status_code
        == 403
    )
    outside = services.query.get(
        "/v1/alerts",
        params={"region": "330200"},
        headers={"Authorization": f"Bearer {services.regulator}"},
    )
    assert (outside.status_code, outside.json()["field"]) == (403, "region")
    assert services.alerts(services.admin)["count"] == 0
    bad_kind = services.query.get(
        "/v1/alerts",
        params={"kind": "fire"},
        headers={"Authorization": f"Bearer {services.admin}"},
    )
    assert (bad_kind.status_code, bad_kind.json()["field"]) == (422, "kind")


def _region_counts(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {r["key"]: (r["open"], r["closed"]) for r in body["summary"]["by_region"]}


def test_a_buyer_s_own_failed_test_cannot_freeze_the_farm_s_lot(services: Services) -> None:
    """A registered buyer of part of a lot records a failing rapid test: the regulator is
    alerted, every scan says "attention", but nobody's lot turns red on a trader's word."""
    c = services.chain
    lot = c.lot("LA0521")
    cert = services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(
        c.market,
        c.receive(c.market, c.farm, [lot], "500", certificates=[cert]),
        c.inspection(c.market, [lot], passed=False, kind="RAPID_TEST"),
    )

    lot_verdict = services.trace(lot)["verdict"]
    certificate_verdict = services.trace(cert)["verdict"]

    assert lot_verdict["state"] == certificate_verdict["state"] == "attention"
    assert [f["rule"] for f in lot_verdict["findings"]] == ["self_test_failed"]
    assert services.alerts(kind="inspection_failed")["alerts"][0]["codes"] == [lot]

    services.post_events(
        c.bureau, c.inspection(c.bureau, [lot], passed=False, kind="OFFICIAL_SAMPLING")
    )

    assert services.trace(lot)["verdict"]["state"] == "frozen", "an official sampling binds"


def test_a_buyer_that_certifies_its_share_cannot_freeze_the_farm_s_lot(services: Services) -> None:
    """The buyer of 30 kg of a 1000 kg lot issues its own purchaser certificate naming the
    farm's lot code, then fails its own rapid test: its certificate (its share) is frozen, the
    farm's lot and certificate only show the amber self-test, and the farm and other buyers may
    still certify."""
    c = services.chain
    lot = c.lot("LA0522")
    cert = services.issued(c.farm, services.certificate_body([lot], quantity="1000"))
    for buyer in (c.market, c.coop):
        services.post_events(c.farm, c.ship(c.farm, buyer, [lot], "30"))
        services.post_events(buyer, c.receive(buyer, c.farm, [lot], "30", certificates=[cert]))
    share = services.issued(
        c.market,
        services.certificate_body([lot], issuer_type="PURCHASER", upstream=[cert], quantity="30"),
    )
    services.post_events(c.market, c.inspection(c.market, [lot], passed=False, kind="RAPID_TEST"))

    for code in (lot, cert):
        verdict = services.trace(code)["verdict"]
        assert verdict["state"] == "attention", code
        assert [f["rule"] for f in verdict["findings"]] == ["self_test_failed"]
    assert services.trace(share)["verdict"]["state"] == "frozen", "its own admission binds it"
    assert services.alerts(kind="inspection_failed")["count"] == 1, "the regulator is told"
    resale = services.certificate_body([], issuer_type="PURCHASER", upstream=[cert], quantity="30")
    assert services.issue(c.coop, resale).status_code == 201
    assert services.issue(c.farm, services.certificate_body([lot])).status_code == 201


def test_a_holder_cannot_clear_its_own_temperature_excursion_with_its_own_test(
    services: Services,
) -> None:
    """The market's reading went out of range; its own passing rapid test does not turn the
    scan green nor close the regulator's alert — an official sampling does."""
    c = services.chain
    lot = c.lot("LA0523")
    cert = services.issued(c.farm, services.certificate_body([lot]))
    services.post_events(c.farm, c.ship(c.farm, c.market, [lot], "500"))
    services.post_events(c.market, c.receive(c.market, c.farm, [lot], "500", certificates=[cert]))
    services.post_events(c.market, c.temperature(c.market, [lot], [-20.0, 5.0]))
    services.post_events(c.market, c.inspection(c.market, [lot], passed=True, kind="RAPID_TEST"))

    verdict = services.trace(lot)["verdict"]
    assert [f["rule"] for f in verdict["findings"]] == ["temperature_excursion"]
    assert 'data-status="attention"' in services.query.get(f"/c/{lot}").text
    [alert] = services.alerts(kind="temperature_excursion")["alerts"]
    assert alert["status"] == "open"

    services.post_events(c.bureau, c.inspection(c.bureau, [lot], kind="OFFICIAL_SAMPLING"))

    assert services.trace(lot)["verdict"]["state"] == "ok"
    assert 'data-status="ok"' in services.query.get(f"/c/{lot}").text
    [closed] = services.alerts(kind="temperature_excursion")["alerts"]
    assert (closed["status"], closed["closed_reason"]) == ("closed", "passed_inspection")
