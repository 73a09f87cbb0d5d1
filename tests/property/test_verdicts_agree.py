"""The regulator's alert list and a code's verdict cannot disagree (docs/verdicts.md "Where
findings come from"), and a public trace holds no private field.

Hypothesis draws small food chains — a farm's two lots, certified or not, shipped to two
buyers that take them in with or without the certificate, test them (failing or passing),
record temperature excursions, certify their share, pack them in a case, destroy them; a
regulator samples or recalls — and writes each step through the one write path (a step the
rules refuse is simply not in the ledger). Then, for every code:

- every OPEN alert of ``GET /v1/alerts`` (``FoodChainMonitor.alerts``) whose kind has a verdict
  rule is a finding of the verdict of each of its codes, with the alert's opening event (a
  failed inspection as ``inspection_failed`` or, a trader's word, ``self_test_failed``; a
  missing certificate unless a certificate covers the goods);
- every finding of an alert kind in a verdict is an open alert of that list;
- the public trace JSON holds none of :data:`suyuan.trace.PRIVATE_FIELDS` and no waybill;
- every open notice of the farm and the buyers (``GET /v1/notices``) about an alert states the
  rule and state the verdict of its first code gives that alert.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suyuan.foodchain import ALERT_KINDS, INSPECTION_FAILED, MISSING_CERTIFICATE, FoodChainMonitor
from suyuan.intake import Message
from suyuan.notices import NoticeBoard
from suyuan.scenario import Organisation
from suyuan.trace import PRIVATE_FIELDS, Tracer, trace_json
from suyuan.verdict import RULES
from tests.unit.foodchain.chain import Chain

LOTS = (0, 1)
BUYERS = ("market", "coop")

steps = st.lists(
    st.one_of(
        st.tuples(st.just("certify"), st.sampled_from(LOTS)),
        st.tuples(
            st.just("deliver"), st.sampled_from(LOTS), st.sampled_from(BUYERS), st.booleans()
        ),
        st.tuples(st.just("test"), st.sampled_from(LOTS), st.sampled_from(BUYERS), st.booleans()),
        st.tuples(st.just("sample"), st.sampled_from(LOTS), st.booleans()),
        st.tuples(st.just("excursion"), st.sampled_from(LOTS), st.sampled_from(BUYERS)),
        st.tuples(st.just("resell"), st.sampled_from(LOTS), st.sampled_from(BUYERS)),
        st.tuples(st.just("destroy"), st.sampled_from(LOTS), st.sampled_from(BUYERS)),
        st.tuples(st.just("recall"), st.sampled_from(LOTS)),
        st.tuples(st.just("pack"), st.sampled_from(LOTS)),
        st.tuples(st.just("void"), st.sampled_from(LOTS), st.booleans()),
        st.tuples(st.just("close_recalls"), st.sampled_from(LOTS)),
        st.tuples(st.just("lab_pass"), st.sampled_from(LOTS)),
        st.tuples(
            st.just("pass_on"), st.sampled_from(LOTS), st.sampled_from(BUYERS), st.booleans()
        ),
    ),
    min_size=1,
    max_size=12,
)


class Story:
    """One drawn chain, written step by step; refused steps leave nothing behind."""

    def __init__(self, chain: Chain) -> None:
        self.c = chain
        self.lots = [chain.lot(f"PV{n:04d}") for n in LOTS]
        self.case = chain.case()
        self.certificates: dict[int, str] = {}
        self.recalls: list[Any] = []
        self.codes: set[str] = set(self.lots)

    def write(self, org: Organisation, *events: Any) -> bool:
        written = self.c.writer.write(0, [Message("p", self.c.s.sign(org, list(events)))])
        return written.accepted == len(events)

    def run(self, step: tuple[Any, ...]) -> None:
        c, kind = self.c, step[0]
        lot = self.lots[step[1]]
        buyer: Organisation = getattr(c, step[2]) if len(step) > 2 and step[2] in BUYERS else c.farm
        if kind == "certify":
            issue = c.certificate(c.farm, [lot], quantity="100")
            if self.write(c.farm, issue):
                self.certificates.setdefault(step[1], issue.codes[0])
                self.codes.add(issue.codes[0])
        elif kind == "deliver":
            shown = [self.certificates[step[1]]] if step[3] and step[1] in self.certificates else []
            if self.write(c.farm, c.ship(c.farm, buyer, [lot], "10")):
                self.write(buyer, c.receive(buyer, c.farm, [lot], "10", certificates=shown))
        elif kind == "test":
            self.write(buyer, c.inspection(buyer, [lot], passed=step[3]))
        elif kind == "sample":
            self.write(
                c.bureau, c.inspection(c.bureau, [lot], passed=step[2], kind="OFFICIAL_SAMPLING")
            )
        elif kind == "excursion":
            self.write(buyer, c.temperature(buyer, [lot], [-20.0, 3.0]))
        elif kind == "resell" and step[1] in self.certificates:
            share = c.certificate(
                buyer, [lot], upstream=[self.certificates[step[1]]], quantity="10"
            )
            if self.write(buyer, share):
                self.codes.add(share.codes[0])
        elif kind == "destroy":
            self.write(buyer, c.destroy(buyer, [lot], "10"))
        elif kind == "recall":
            recall = c.recall([lot])
            if self.write(c.bureau, recall):
                self.recalls.append(recall)
        elif kind == "close_recalls":
            for recall in self.recalls:
                closing = {"recall_id": recall.payload["recall_id"], "summary": "已全部监督销毁"}
                self.write(c.bureau, c.s.event(c.bureau, "RecallClosed", closing, codes=[lot]))
            self.recalls = []
        elif kind == "void" and step[1] in self.certificates:
            again = c.certificate(c.farm, [lot], quantity="100")
            replacement = again.codes[0] if step[2] else None
            voided = self.write(c.farm, c.void(c.farm, self.certificates[step[1]], replacement))
            if voided and replacement and self.write(c.farm, again):
                self.certificates[step[1]] = replacement
                self.codes.add(replacement)
        elif kind == "lab_pass":
            self.write(c.lab, c.inspection(c.lab, [lot], kind="COMMISSIONED_LAB"))
        elif kind == "pass_on":
            other = c.coop if buyer is c.market else c.market
            shown = [self.certificates[step[1]]] if step[3] and step[1] in self.certificates else []
            if self.write(buyer, c.ship(buyer, other, [lot], "5")):
                self.write(other, c.receive(other, buyer, [lot], "5", certificates=shown))
        elif kind == "pack" and self.write(c.farm, c.pack(c.farm, self.case, [lot])):
            self.codes.add(self.case)


def _private_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {k for k in value if k in PRIVATE_FIELDS}
        return found.union(*(_private_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_private_keys(v) for v in value))
    return set()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_the_alert_list_and_every_verdict_agree(drawn: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        chain = Chain.open(Path(folder) / "ledger.sqlite")
        try:
            story = Story(chain)
            for step in drawn:
                story.run(step)
            alerts = FoodChainMonitor(chain.store).alerts()
            tracer = Tracer(chain.store)
            for code in sorted(story.codes):
                trace = tracer.trace(code)
                found = {(f.rule_id, f.event_id) for f in trace.verdict.findings}
                for alert in alerts:
                    if alert.status != "open" or alert.kind not in RULES or code not in alert.codes:
                        continue
                    if alert.kind == INSPECTION_FAILED:
                        rules = {INSPECTION_FAILED, "self_test_failed"}
                    elif alert.kind == MISSING_CERTIFICATE and trace.certificates:
                        continue  # the goods are certified: docs/verdicts.md "进货查验"
                    else:
                        rules = {alert.kind}
                    assert any((r, alert.event_id) in found for r in rules), (code, alert)
                listed = {(a.kind, a.event_id) for a in alerts if a.status == "open"}
                for finding in trace.verdict.findings:
                    if finding.rule_id in ALERT_KINDS and finding.rule_id != INSPECTION_FAILED:
                        assert (finding.rule_id, finding.event_id) in listed, (code, finding)
                public = trace_json(trace, public=True)
                assert not _private_keys(
                    [public["certificates"], public["custody"], public["inspections"]]
                ), code
                assert not re.search(
                    r"WB\d{8}", json.dumps(public, ensure_ascii=False, default=str)
                ), code
            board = NoticeBoard(chain.store, tracer, FoodChainMonitor(chain.store))
            for org in (chain.farm, chain.market, chain.coop):
                for notice in board.page(org.uscc, status="open", limit=100).notices:
                    if notice.kind == "recall" or not notice.codes:
                        continue
                    verdict = tracer.trace(notice.codes[0]).verdict
                    said = {
                        (f.rule_id, f.state)
                        for f in verdict.findings
                        if f.event_id == notice.event_id
                    }
                    if notice.kind == MISSING_CERTIFICATE and not said:
                        continue  # certified goods: the buyer's alert, not the goods' state
                    assert (notice.rule, notice.state) in said, (org.name, notice)
        finally:
            chain.store.close()
