"""Signed 合格证 QR codes, as a shopper's phone and an offline checker see them: the printed
label's QR (decoded with zbarimg) carries the certificate's fields signed with the issuer's key;
the scan page and `suyuan verify-qr` say valid, and catch a forged field, a QR copied onto
other goods, a revoked key and a key list that is not the root's."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import png
import pytest
from typer.testing import CliRunner

from suyuan.custody import create_custodial_key, key_registration_event, load_custodial_key
from suyuan.intake import Message
from suyuan.ledger import TRUST_SHARD
from suyuan.scenario import Organisation, vegetable_certificate
from suyuan.signing import SigningKey
from suyuan_cli import app as cli
from tests.integration.test_trace_api import BASE_URL, Query, start_query

COOP = "绍兴上虞蔬菜专业合作社"


@dataclass
class Signed:
    query: Query
    tmp: Path
    coop: Organisation
    key: SigningKey
    certificate: str
    other_certificate: str

    def page(self, url: str) -> str:
        parts = urlsplit(url)
        answer = self.query.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        assert answer.status_code == 200, answer.text
        return answer.text

    def verify(self, url: str, keys: bytes | None = None) -> tuple[int, str]:
        key_file = self.tmp / "keys.json"
        key_file.write_bytes(keys or self.query.client.get("/.well-known/suyuan/keys.json").content)
        root = self.tmp / "root.pub"
        root.write_bytes(self.query.scenario.root_key.verify_key.to_pem())
        args = ["verify-qr", url, "--keys", str(key_file), "--root-key", str(root)]
        answer = CliRunner().invoke(cli, [*args, "--regulator", self.query.scenario.regulator_uscc])
        return answer.exit_code, " ".join(answer.output.split())  # the console wraps lines


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Signed]:
    for query in start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path):
        s = query.scenario
        context = query.client.app.state.context
        engine, master = query.store.engine, context.recalls.custody_master
        coop = s.organisation(COOP, ["PRODUCER"], "330604", "绍兴市上虞区")
        custodial = create_custodial_key(engine, master, coop.uscc)
        trust = [
            *s.registration(coop),
            key_registration_event(s.regulator_uscc, coop.uscc, custodial),
        ]
        written = query.writer.write(TRUST_SHARD, [Message("coop", s.sign_as_root(trust))])
        assert written.accepted == len(trust), written.rejections
        key = load_custodial_key(engine, master, coop.uscc)
        codes = []
        for lot in ("SQR01", "SQR02"):
            code = s.certificate_code()
            event = vegetable_certificate(s, coop, s.unit_code(item="10081", lot=lot), code=code)
            query.append(key, [event])
            codes.append(code)
        yield Signed(query, tmp_path, coop, key, codes[0], codes[1])


def _printed_qr(signed: Signed, code: str) -> str:
    """The URL the label's printed QR holds: the label's QR modules drawn as a PNG and read
    back with zbarimg, as a phone would read the printed label."""
    svg = signed.query.client.get(f"/c/{code}/label.svg")
    assert svg.status_code == 200
    ns = "{http://www.w3.org/2000/svg}"
    group = next(
        g
        for g in ET.fromstring(svg.text).iter(f"{ns}g")
        if g.find(f"{ns}path") is not None and g.find(f"{ns}rect") is not None
    )
    size = int(float(group.find(f"{ns}rect").get("width", "0")))  # type: ignore[union-attr]
    dark = {
        (int(x), int(y))
        for x, y in re.findall(r"M(\d+),(\d+)", group.find(f"{ns}path").get("d", ""))  # type: ignore[union-attr]
    }
    scale, quiet = 6, 4
    pixels = [
        [
            0 if (x // scale - quiet, y // scale - quiet) in dark else 255
            for x in range((size + 2 * quiet) * scale)
        ]
        for y in range((size + 2 * quiet) * scale)
    ]
    image = signed.tmp / f"label-{code}.png"
    with image.open("wb") as out:
        png.Writer(len(pixels[0]), len(pixels), greyscale=True).write(out, pixels)
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg (Debian zbar-tools) is not on PATH: make test installs it")
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    )
    return decoded.stdout.strip()


def _qr_line(html: str) -> tuple[str, str] | None:
    found = re.search(r'<p id="qr-check" class="qr-check (\w+)"[^>]*>(.*?)</p>', html, re.S)
    return None if found is None else (found.group(1), found.group(2))


def test_the_printed_qr_is_signed_and_checks_on_the_page_and_offline(signed: Signed) -> None:
    url = _printed_qr(signed, signed.certificate)
    assert url.startswith(f"{BASE_URL}/c/{signed.certificate}?cq=")
    kind, text = _qr_line(signed.page(url)) or ("", "")
    assert kind == "ok"
    assert f"二维码签名有效：合格证内容由{COOP}的登记密钥签署" in text

    status, output = signed.verify(url)
    assert status == 0, output
    assert f"VALID: 合格证 {signed.certificate}: 小青菜 500 kg" in output
    assert COOP in output


def test_a_forged_quantity_is_caught(signed: Signed) -> None:
    url = _printed_qr(signed, signed.certificate)
    payload, signature = url.split("cq=")[1].split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields["q"] = "5000"
    data = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    forged = url.split("cq=")[0] + "cq=" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    forged += "." + signature
    kind, text = _qr_line(signed.page(forged)) or ("", "")
    assert kind == "bad" and text.startswith("二维码签名无效")
    status, output = signed.verify(forged)
    assert status == 1 and "INVALID" in output and "does not verify" in output


def test_a_qr_copied_onto_other_goods_is_caught(signed: Signed) -> None:
    genuine = _printed_qr(signed, signed.certificate)
    copied = genuine.replace(f"/c/{signed.certificate}?", f"/c/{signed.other_certificate}?")
    kind, text = _qr_line(signed.page(copied)) or ("", "")
    assert kind == "bad"
    assert f"此二维码签的是另一张合格证（{signed.certificate}）" in text
    status, output = signed.verify(copied)
    assert status == 1 and f"signs certificate {signed.certificate}" in output


def test_a_qr_of_a_revoked_key_is_caught(signed: Signed) -> None:
    url = _printed_qr(signed, signed.certificate)
    s = signed.query.scenario
    revoke = s.event(
        s.regulator_uscc,
        "SigningKeyRevoked",
        {"organisation": signed.coop.uscc, "key_id": signed.key.key_id, "reason": "保管不当"},
    )
    written = signed.query.writer.write(TRUST_SHARD, [Message("revoke", s.sign_as_root([revoke]))])
    assert written.accepted == 1, written.rejections
    kind, text = _qr_line(signed.page(url)) or ("", "")
    assert kind == "bad" and "密钥已被吊销" in text and "保管不当" in text
    status, output = signed.verify(url)
    assert status == 1 and "revoked" in output


def test_a_key_list_not_signed_by_the_root_is_refused(signed: Signed) -> None:
    url = _printed_qr(signed, signed.certificate)
    listed = json.loads(signed.query.client.get("/.well-known/suyuan/keys.json").content)
    raw = bytearray(base64.b64decode(listed["trust"][-1]))
    raw[-5] ^= 1  # the last trust event's bytes, altered
    listed["trust"][-1] = base64.b64encode(bytes(raw)).decode()
    status, output = signed.verify(url, json.dumps(listed).encode())
    assert status == 2 and "not a key list the root key signed" in output


def test_a_label_of_an_issuer_without_a_key_here_is_printed_unsigned(signed: Signed) -> None:
    code = signed.query.codes["clean certificate"]  # the demo farm signs with its own key
    url = _printed_qr(signed, code)
    assert url == f"{BASE_URL}/c/{code}"
    assert _qr_line(signed.page(url)) is None
    status, output = signed.verify(url)
    assert status == 1 and "carries no signed QR value" in output
