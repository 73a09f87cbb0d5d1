"""A builder of signed, realistic event streams: a regulator with a root key, organisations
with their signing keys, and events in their JSON form (``docs/events.md``).

Deterministic for a given seed, so the demo, the tests and the benchmarks share one way of
making data that passes every rule of the contract.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
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
        self.root_key = SigningKey.from_raw(self.rng.randbytes(32))
        self.regulator_uscc = new_uscc("330100", registrar="1", entity_type="1", rng=self.rng)
        self.root = RootKey(self.root_key.verify_key, self.regulator_uscc)

    # --- identities -----------------------------------------------------------------------

    def event_id(self) -> str:
        return str(uuid.UUID(bytes=self.rng.randbytes(16), version=4))

    def certificate_code(self) -> str:
        return new_certificate_code(self.rng)

    def sscc(self, company_prefix: str = "6901234") -> str:
        """A canonical GS1 SSCC code ``(00)…`` for a case or pallet."""
        body = "0" + company_prefix + f"{self.rng.randrange(10**9):09d}"
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

    def tick(self, minutes: int = 7) -> datetime:
        self.clock += timedelta(minutes=minutes)
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

    # --- signing ------------------------------------------------------------------------------

    def sign(self, signer: Organisation | SigningKey, events: Sequence[Event]) -> bytes:
        """One Kafka message: the events encoded, signed as one batch, the batch encoded."""
        key = signer.key if isinstance(signer, Organisation) else signer
        return encode_batch(sign_batch(key, [encode_event(e) for e in events]))

    def sign_as_root(self, events: Sequence[Event]) -> bytes:
        return self.sign(self.root_key, events)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")
