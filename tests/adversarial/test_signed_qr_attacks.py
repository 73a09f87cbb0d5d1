"""Attacks on the signed 合格证 QR (docs/verification.md, "Signed QR codes") by a registered
organisation with its own good key, and by anyone who can print a QR: the scan page must never
say "签名有效" for what the ledger does not hold, and never answer 5xx whatever ``cq`` carries."""

from __future__ import annotations

import base64
import json
import re

import pytest

from suyuan.qrsign import MAX_QR_LENGTH, QrClaim, QrError, read_qr, sign_qr
from tests.integration import test_signed_qr
from tests.integration.test_signed_qr import Signed

signed = test_signed_qr.signed  # a cooperative with a custodial key and two certificates


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _qr_line(html: str) -> tuple[str, str]:
    found = re.search(r'<p id="qr-check" class="qr-check (\w+)"[^>]*>(.*?)</p>', html, re.S)
    assert found, "the page shows no QR check"
    return found.group(1), found.group(2)


def _claim(signed: Signed, code: str, **changes: str) -> QrClaim:
    fields = {
        "code": code,
        "product": "小青菜",
        "quantity": "500",
        "unit": "kg",
        "issuer": signed.coop.uscc,
        "issue_date": "",
        "basis": "QUALITY_CONTROL",
        "key_id": signed.key.key_id,
        **changes,
    }
    return QrClaim(**fields)


_NESTED = _b64(b"[" * 1400) + "." + _b64(b"x" * 64)
_HOSTILE = [
    _NESTED,  # nesting deep enough to exhaust the JSON decoder's recursion
    _b64(b'{"a":' * 200 + b"1" + b"}" * 200) + ".AA",
    "." * 5,
    "%00",
    "A" * MAX_QR_LENGTH,
    _b64(b"null") + "." + _b64(b"x"),
    _b64(json.dumps({k: "x" for k in "cpquodbk"} | {"v": 1}).encode()) + ".",
    _b64(json.dumps({k: "x" for k in "cpquodbk"} | {"v": 1}, sort_keys=True).encode()) + ".AA",
    "\u202e\u0000<script>",
]


@pytest.mark.parametrize("value", _HOSTILE, ids=range(len(_HOSTILE)))
def test_a_hostile_cq_value_is_read_as_malformed_never_a_crash(signed: Signed, value: str) -> None:
    page = signed.query.client.get(f"/c/{signed.certificate}", params={"cq": value})
    assert page.status_code == 200, page.text
    kind, text = _qr_line(page.text)
    assert kind != "ok"
    assert "签名有效" not in text
    assert "<script>" not in page.text


def test_deep_nesting_in_the_payload_is_a_qr_error() -> None:
    with pytest.raises(QrError):
        read_qr(_NESTED)


def test_a_cq_longer_than_the_cap_is_refused_without_a_5xx(signed: Signed) -> None:
    page = signed.query.client.get(
        f"/c/{signed.certificate}", params={"cq": "A" * (MAX_QR_LENGTH + 1)}
    )
    assert page.status_code < 500


def test_the_issuer_s_own_key_cannot_vouch_for_fields_the_ledger_does_not_hold(
    signed: Signed,
) -> None:
    """The cooperative signs, with its own registered key, a QR for 5000 kg of 有机小青菜 under
    its real certificate code: the signature is good, the page still says it differs."""
    issue_date = re.search(
        r'"d":"([0-9-]+)"',
        base64.urlsafe_b64decode(
            test_signed_qr._printed_qr(signed, signed.certificate).split("cq=")[1].split(".")[0]
            + "=="
        ).decode(),
    )
    assert issue_date
    forged = _claim(
        signed, signed.certificate, product="有机小青菜", quantity="5000", issue_date=issue_date[1]
    )
    page = signed.query.client.get(
        f"/c/{signed.certificate}", params={"cq": sign_qr(forged, signed.key)}
    )
    kind, text = _qr_line(page.text)
    assert kind != "ok" and "签名有效" not in text
    assert "5000" in page.text  # the page names what differs


def test_a_qr_naming_another_issuer_with_one_s_own_key_is_caught(signed: Signed) -> None:
    """Claiming the regulator as issuer while signing with the cooperative's key."""
    forged = _claim(signed, signed.certificate, issuer=signed.query.scenario.regulator_uscc)
    page = signed.query.client.get(
        f"/c/{signed.certificate}", params={"cq": sign_qr(forged, signed.key)}
    )
    kind, text = _qr_line(page.text)
    assert kind != "ok" and "签名有效" not in text
