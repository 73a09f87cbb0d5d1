"""Trace codes as EPCIS identifiers and back (docs/epcis.md "Identifiers")."""

from __future__ import annotations

import pytest

from suyuan.codes import CodeKind, TraceCode
from suyuan.epcis import code_from_epc, epc_uri, location_uri
from suyuan.errors import CodeError
from suyuan.events.model import Location


@pytest.mark.parametrize(
    ("code", "uri"),
    [
        (
            TraceCode(CodeKind.GS1, "(01)09506000134352(10)A/B(21)7"),
            "https://id.gs1.org/01/09506000134352/10/A%2FB/21/7",
        ),
        (
            TraceCode(CodeKind.GS1, "(00)106141412345678908"),
            "https://id.gs1.org/00/106141412345678908",
        ),
        (TraceCode(CodeKind.CERTIFICATE, "0K3Q8ZJ5W2HG"), "urn:suyuan:cert:0K3Q8ZJ5W2HG"),
        (TraceCode(CodeKind.DRUG, "81234560000012345678"), "urn:suyuan:drug:81234560000012345678"),
    ],
)
def test_codes_and_their_epcs_round_trip(code: TraceCode, uri: str) -> None:
    assert epc_uri(code) == uri
    assert epc_uri(code.value) == uri
    assert code_from_epc(uri) == code


def test_a_digital_link_on_any_host_and_a_urn_in_any_case_name_the_code() -> None:
    assert code_from_epc("https://trace.example.cn/01/09506000134352/21/7").value == (
        "(01)09506000134352(21)7"
    )
    assert code_from_epc("URN:SUYUAN:CERT:0k3q-8zj5-w2hg").value == "0K3Q8ZJ5W2HG"


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("urn:suyuan:org:91330100MA27XK3R4U", "not a trace code URI"),
        ("urn:suyuan:cert:0K3Q8ZJ5W2HH", "check character"),
        ("https://id.gs1.org/01/09506000134353", "check digit"),
    ],
)
def test_what_names_no_code_is_refused_naming_the_field(uri: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        code_from_epc(uri, field="MATCH_epc")

    assert caught.value.field == "MATCH_epc"
    assert rule in caught.value.rule


def test_a_place_is_its_gln_where_it_may_be_shown_else_its_region() -> None:
    farm = Location("330185", "白沙村蔬菜基地", gln="6901234000016")

    assert location_uri(farm) == "https://id.gs1.org/414/6901234000016"
    assert location_uri(farm, precise=False) == "urn:suyuan:region:330185"
    assert location_uri(Location("330185", "无 GLN 的地方")) == "urn:suyuan:region:330185"
