"""Offline-verifiable 合格证 QR codes (docs/verification.md, "Signed QR codes").

A printed certificate's scan URL carries its essential fields, signed by the issuer's key::

    {base}/c/{certificate code}?cq=<payload>.<signature>

- ``payload``: base64url (no padding) of a JSON object with sorted keys and no spaces, UTF-8:
  ``v`` 1, ``c`` the certificate code, ``p`` the product name, ``q`` the quantity (decimal
  text), ``u`` its unit, ``o`` the issuer's USCC, ``d`` the issue date (YYYY-MM-DD), ``b`` the
  basis (``SELF_TESTED`` …), ``k`` the id of the key that signed;
- ``signature``: base64url (no padding) of the Ed25519 signature over
  ``b"suyuan-qr/v1\\n"`` followed by the payload's JSON bytes.

Anyone checks it with the URL alone and the issuer's public key, taken from the key list
(``/.well-known/suyuan/keys.json``: the trust events, each signed by a regulator root key, so the
list is checked against the root key, not against the server that serves it).

Errors: :class:`QrError` (reason ``malformed_qr``) for a QR value (or key list) that is not of
this form;
:class:`QrSignatureError` for a signature that does not verify; ``UnknownKeyError``,
``RevokedKeyError`` and ``WrongSignerError`` (key of another organisation) from the trust store.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from suyuan.errors import InvalidInputError, RevokedKeyError, SignatureError, WrongSignerError
from suyuan.events import decode_event
from suyuan.ledger import Leaf, LedgerStore, SignatureChecker
from suyuan.signing import RootKey, SigningKey, TrustStore

#: The query parameter of a scan URL that holds the signed QR value.
QR_PARAMETER = "cq"
#: Longer values are refused before any work.
MAX_QR_LENGTH = 2048
_DOMAIN = b"suyuan-qr/v1\n"
_FIELDS = frozenset("vcpquodbk")


class QrError(InvalidInputError):
    """A signed-QR value is not of the documented form."""

    reason = "malformed_qr"


class QrSignatureError(SignatureError):
    """The QR's signature does not verify with the key it names."""


@dataclass(frozen=True, slots=True)
class QrClaim:
    """What a signed QR says: the certificate's essential fields and the signing key."""

    code: str
    product: str
    quantity: str
    unit: str
    issuer: str
    issue_date: str
    basis: str
    key_id: str

    def to_json(self) -> bytes:
        fields = {
            "v": 1,
            "c": self.code,
            "p": self.product,
            "q": self.quantity,
            "u": self.unit,
            "o": self.issuer,
            "d": self.issue_date,
            "b": self.basis,
            "k": self.key_id,
        }
        return json.dumps(
            fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()


def claim_of(
    code: str,
    payload: Mapping[str, Any],
    issuer: str,
    quantity: Decimal | None,
    unit: str | None,
    key_id: str,
) -> QrClaim:
    """The claim of a ``CertificateIssued`` event's fields, to be signed with ``key_id``."""
    return QrClaim(
        code=code,
        product=str(payload.get("product_name", "")),
        quantity="" if quantity is None else format(quantity.normalize(), "f"),
        unit=unit or "",
        issuer=issuer,
        issue_date=str(payload.get("issue_date", "")),
        basis=str(payload.get("basis", "")),
        key_id=key_id,
    )


def sign_qr(claim: QrClaim, key: SigningKey) -> str:
    """The ``cq`` value: the claim signed with ``key`` (whose id the claim must name).

    Raises:
        ValueError: the claim names another key.
    """
    if claim.key_id != key.key_id:
        raise ValueError(f"the claim names key {claim.key_id}, not {key.key_id}")
    data = claim.to_json()
    return f"{_b64(data)}.{_b64(key.sign(_DOMAIN + data))}"


def read_qr(value: str) -> tuple[QrClaim, bytes, bytes]:
    """The claim, the signed message and the signature of a ``cq`` value (nothing verified).

    Raises:
        QrError: not ``<payload>.<signature>`` in base64url, or the payload is not the
            documented JSON object (field ``cq``).
    """
    if len(value) > MAX_QR_LENGTH:
        raise QrError(QR_PARAMETER, value, f"must be at most {MAX_QR_LENGTH} characters")
    payload, dot, signature = value.partition(".")
    try:
        data, raw = _unb64(payload), _unb64(signature)
        fields = json.loads(data)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: "[[[[…" nested
        raise QrError(QR_PARAMETER, value, "must be <payload>.<signature> in base64url") from None
    if not isinstance(fields, dict) or set(fields) != _FIELDS or fields.get("v") != 1 or not dot:
        raise QrError(QR_PARAMETER, value, "the payload must be the suyuan-qr/v1 JSON object")
    if not all(isinstance(fields[k], str) for k in _FIELDS - {"v"}):
        raise QrError(QR_PARAMETER, value, "every field but v must be text")
    claim = QrClaim(
        fields["c"],
        fields["p"],
        fields["q"],
        fields["u"],
        fields["o"],
        fields["d"],
        fields["b"],
        fields["k"],
    )
    if claim.to_json() != data:
        raise QrError(QR_PARAMETER, value, "the payload must be in its one canonical form")
    return claim, _DOMAIN + data, raw


def verify_qr(value: str, trust: TrustStore) -> QrClaim:
    """Check a ``cq`` value against the trust chain: the key it names is registered to the
    issuer it names, not revoked, and signed exactly these fields.

    Raises:
        QrError: the value is malformed.
        UnknownKeyError: no registered key has the id it names.
        WrongSignerError: the key belongs to another organisation than the issuer named.
        RevokedKeyError: the key has been revoked.
        QrSignatureError: the signature does not verify.
    """
    claim, message, signature = read_qr(value)
    key = trust.key_for(claim.key_id)
    owner = trust.organisation_of(claim.key_id)
    if owner != claim.issuer:
        raise WrongSignerError("k", claim.key_id, f"is the key of {owner}, not of {claim.issuer}")
    if trust.is_revoked(claim.key_id):
        reason = trust.revocation_reason(claim.key_id)
        raise RevokedKeyError("k", claim.key_id, f"was revoked ({reason})")
    try:
        key.verify(signature, message)
    except SignatureError:
        raise QrSignatureError("cq", value, "the signature does not verify") from None
    return claim


#: The format name of the key list.
KEY_LIST_FORMAT = "suyuan-keys/v1"


def key_list(store: LedgerStore) -> dict[str, Any]:
    """The key list (``/.well-known/suyuan/keys.json``): every trust event's ledger leaf, in
    trust order, base64. Each leaf holds the event and a regulator root key's signature over
    its batch, so a reader checks the list against the root key alone (:func:`trust_of_key_list`).
    """
    positions = store.trust_positions()
    entries = store.entries_at(positions)
    leaves = [base64.b64encode(entries[p].leaf).decode("ascii") for p in positions]
    return {"format": KEY_LIST_FORMAT, "trust": leaves}


def trust_of_key_list(data: Mapping[str, Any], roots: Sequence[RootKey]) -> TrustStore:
    """The trust store a key list proves, each event checked against the root keys.

    Raises:
        QrError: not a key list (field ``keys``).
        SuyuanError: an event is not signed by a root key, or cannot be applied (a forged or
            altered list).
    """
    leaves = data.get("trust") if data.get("format") == KEY_LIST_FORMAT else None
    if not isinstance(leaves, list):
        raise QrError("keys", str(data)[:60], f"must be a {KEY_LIST_FORMAT} key list")
    checker = SignatureChecker(roots)
    for number, text in enumerate(leaves, start=1):
        try:
            leaf = Leaf.from_bytes(base64.b64decode(str(text), validate=True))
        except (binascii.Error, ValueError):
            raise QrError("keys", str(text)[:60], f"trust[{number - 1}] is not a leaf") from None
        checker.apply_trust(number, leaf, decode_event(leaf.event))
    return checker.trust


def qr_of_url(url: str) -> str | None:
    """The ``cq`` value of a scan URL, or ``None`` when it carries none."""
    values = parse_qs(urlsplit(url).query).get(QR_PARAMETER)
    return values[0] if values else None


def signed_url(scan_url: str, value: str) -> str:
    """``scan_url`` carrying the signed QR value."""
    return f"{scan_url}{'&' if '?' in scan_url else '?'}{QR_PARAMETER}={value}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
