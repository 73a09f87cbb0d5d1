"""Signed 合格证 QR values: the documented bytes, and every way a forger could try."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from suyuan.errors import RevokedKeyError, UnknownKeyError, WrongSignerError
from suyuan.qrsign import (
    QrClaim,
    QrError,
    QrSignatureError,
    claim_of,
    qr_of_url,
    read_qr,
    sign_qr,
    signed_url,
    verify_qr,
)
from suyuan.scenario import Scenario
from suyuan.signing import SigningKey, TrustStore

PAYLOAD = {
    "product_name": "小青菜",
    "issue_date": "2026-05-06",
    "basis": "SELF_TESTED",
    "contact": "0571-63781234",  # not signed: not an essential field
}


@pytest.fixture
def world() -> tuple[Scenario, TrustStore]:
    s = Scenario(seed=7)
    farm = s.organisation("临安区太湖源蔬菜专业合作社", ["PRODUCER"], "330185", "临安")
    other = s.organisation("杭州某某蔬菜公司", ["PRODUCER"], "330105", "杭州")
    s.farm, s.other = farm, other  # type: ignore[attr-defined]
    return s, TrustStore.replay([s.root], s.registration(farm, other))


def _claim(s: Scenario, key_id: str, issuer: str | None = None) -> QrClaim:
    farm = s.farm  # type: ignore[attr-defined]
    return claim_of("0K3Q8ZJ5W2HG", PAYLOAD, issuer or farm.uscc, Decimal("500.000"), "kg", key_id)


def test_the_value_is_the_documented_json_and_signature(world: tuple[Scenario, TrustStore]) -> None:
    s, trust = world
    key = s.farm.key  # type: ignore[attr-defined]
    value = sign_qr(_claim(s, key.key_id), key)
    payload, signature = value.split(".")
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    fields = json.loads(data)
    assert fields == {
        "v": 1,
        "c": "0K3Q8ZJ5W2HG",
        "p": "小青菜",
        "q": "500",
        "u": "kg",
        "o": s.farm.uscc,  # type: ignore[attr-defined]
        "d": "2026-05-06",
        "b": "SELF_TESTED",
        "k": key.key_id,
    }
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    key.verify_key.verify(raw, b"suyuan-qr/v1\n" + data)  # raises if not the documented bytes
    assert verify_qr(value, trust).product == "小青菜"


def test_a_changed_field_breaks_the_signature(world: tuple[Scenario, TrustStore]) -> None:
    s, trust = world
    key = s.farm.key  # type: ignore[attr-defined]
    payload, signature = sign_qr(_claim(s, key.key_id), key).split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields["q"] = "5000"
    data = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(data).rstrip(b"=").decode() + "." + signature
    with pytest.raises(QrSignatureError):
        verify_qr(forged, trust)


def test_a_key_of_another_organisation_is_refused(world: tuple[Scenario, TrustStore]) -> None:
    s, trust = world
    other = s.other  # type: ignore[attr-defined]
    # The other producer signs a claim that names the farm as issuer.
    with pytest.raises(WrongSignerError):
        verify_qr(sign_qr(_claim(s, other.key.key_id), other.key), trust)


def test_an_unregistered_key_is_refused(world: tuple[Scenario, TrustStore]) -> None:
    s, trust = world
    stranger = SigningKey.generate()
    with pytest.raises(UnknownKeyError):
        verify_qr(sign_qr(_claim(s, stranger.key_id), stranger), trust)


def test_a_revoked_key_is_refused(world: tuple[Scenario, TrustStore]) -> None:
    s, trust = world
    key = s.farm.key  # type: ignore[attr-defined]
    value = sign_qr(_claim(s, key.key_id), key)
    trust.apply(s.revocation(s.farm, "密钥泄露"))  # type: ignore[attr-defined]
    with pytest.raises(RevokedKeyError) as caught:
        verify_qr(value, trust)
    assert "密钥泄露" in caught.value.rule


@pytest.mark.parametrize(
    "value",
    ["", "abc", "abc.", ".abc", "a b.c", "e30.AAAA", "x" * 3000, "eyJ2IjoxfQ.AAAA"],
)
def test_malformed_values_name_the_rule(value: str) -> None:
    with pytest.raises(QrError) as caught:
        read_qr(value)
    assert caught.value.field == "cq"


def test_urls_carry_the_value() -> None:
    url = signed_url("https://trace.example.cn/c/0K3Q8ZJ5W2HG", "abc.def")
    assert url == "https://trace.example.cn/c/0K3Q8ZJ5W2HG?cq=abc.def"
    assert qr_of_url(url) == "abc.def"
    assert qr_of_url("https://trace.example.cn/c/0K3Q8ZJ5W2HG") is None
