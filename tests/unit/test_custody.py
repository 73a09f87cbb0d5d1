"""Custodial signing keys (design.md §5): sealed with AES-GCM under a master key, never in clear."""

from __future__ import annotations

import base64
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from suyuan._auth_tables import custodial_keys
from suyuan.custody import (
    CustodyError,
    NoCustodialKeyError,
    Settings,
    create_custodial_key,
    custodial_key_id,
    key_registration_event,
    load_custodial_key,
    load_master_key,
    new_master_key,
    parse_master_key,
)
from suyuan.errors import CodeError
from suyuan.events import validate_event
from suyuan.ledger import create_ledger_engine, migrate
from suyuan.scenario import Scenario
from suyuan.signing import SigningKey, TrustStore

FARM = "N2330185MA2H4K7Q14"
MARKET = "91330105MA27XK3R4U"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def master() -> bytes:
    return secrets.token_bytes(32)


def seed_of(key: SigningKey) -> bytes:
    private = serialization.load_pem_private_key(key.to_pem(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    return private.private_bytes_raw()


def test_created_key_loads_back_and_signs(engine: Engine, master: bytes) -> None:
    public = create_custodial_key(engine, master, FARM)

    key = load_custodial_key(engine, master, FARM)

    assert key.verify_key == public
    public.verify(key.sign(b"message"), b"message")
    assert custodial_key_id(engine, FARM) == public.key_id


def test_stored_bytes_do_not_contain_the_key(engine: Engine, master: bytes, tmp_path: Path) -> None:
    create_custodial_key(engine, master, FARM)
    seed = seed_of(load_custodial_key(engine, master, FARM))

    with engine.connect() as conn:
        sealed = conn.execute(sa.select(custodial_keys.c.encrypted_key)).scalar_one()
    assert seed not in sealed
    assert len(sealed) == 12 + 32 + 16  # nonce, sealed seed, GCM tag
    engine.dispose()
    database = b"".join(path.read_bytes() for path in tmp_path.glob("ledger.sqlite*"))
    assert seed not in database
    assert master not in database


def test_wrong_master_key_fails_clearly(engine: Engine, master: bytes) -> None:
    create_custodial_key(engine, master, FARM)

    with pytest.raises(CustodyError, match="wrong custody master key"):
        load_custodial_key(engine, secrets.token_bytes(32), FARM)


def test_a_sealed_key_copied_to_another_organisation_does_not_open(
    engine: Engine, master: bytes
) -> None:
    create_custodial_key(engine, master, FARM)
    with engine.begin() as conn:
        conn.execute(custodial_keys.update().values(organisation=MARKET))

    with pytest.raises(CustodyError, match="does not decrypt"):
        load_custodial_key(engine, master, MARKET)


def test_organisation_without_a_key(engine: Engine, master: bytes) -> None:
    with pytest.raises(NoCustodialKeyError, match=MARKET):
        load_custodial_key(engine, master, MARKET)
    assert custodial_key_id(engine, MARKET) is None


def test_second_key_needs_replace_and_then_is_the_one_in_use(engine: Engine, master: bytes) -> None:
    first = create_custodial_key(engine, master, FARM)
    with pytest.raises(CustodyError, match="already has a custodial key"):
        create_custodial_key(engine, master, FARM)

    second = create_custodial_key(engine, master, FARM, replace=True)

    assert second != first
    assert load_custodial_key(engine, master, FARM).verify_key == second


def test_invalid_organisation_is_a_code_error(engine: Engine, master: bytes) -> None:
    with pytest.raises(CodeError) as caught:
        create_custodial_key(engine, master, "N2330185MA2H4K7Q15")
    assert caught.value.field == "organisation"


# --- the master key ---------------------------------------------------------------------------


def test_master_key_from_the_environment_setting() -> None:
    text = new_master_key()

    settings = Settings(custody_master_key=SecretStr(text))

    assert load_master_key(settings) == base64.b64decode(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 at all!", "not standard base64"),
        (base64.b64encode(b"short").decode(), "must be 32 bytes (got 5)"),
    ],
)
def test_malformed_master_key_is_refused_without_echoing_it(text: str, message: str) -> None:
    with pytest.raises(CustodyError, match=re.escape(message)) as caught:
        parse_master_key(text)
    assert text not in str(caught.value)


def test_key_file_is_made_on_first_use_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings(custody_key_file=tmp_path / "var" / "custody.key")

    first = load_master_key(settings, create=True)
    second = load_master_key(settings)

    assert first == second
    assert len(first) == 32
    assert stat.S_IMODE(settings.custody_key_file.stat().st_mode) == 0o600


def test_missing_key_file_without_create_says_what_to_set(tmp_path: Path) -> None:
    settings = Settings(custody_key_file=tmp_path / "custody.key")

    with pytest.raises(CustodyError, match="SUYUAN_CUSTODY_MASTER_KEY"):
        load_master_key(settings)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "custody.key"
    path.write_text(new_master_key() + "\n")
    path.chmod(0o644)

    with pytest.raises(CustodyError, match="chmod 600"):
        load_master_key(Settings(custody_key_file=path))


# --- the trust chain ---------------------------------------------------------------------------


def test_registration_event_registers_the_key_in_the_trust_chain(
    engine: Engine, master: bytes
) -> None:
    scenario = Scenario(seed=7)
    farm = scenario.organisation("合作社", ["PRODUCER"], "330185", "临安区", registrar="N")
    public = create_custodial_key(engine, master, farm.uscc)
    event = key_registration_event(scenario.regulator_uscc, farm.uscc, public)
    validate_event(event)
    trust = TrustStore([scenario.root])
    trust.apply(scenario.registration(farm)[0])  # OrganisationRegistered

    trust.apply(event)

    assert trust.key_for(public.key_id) == public
    assert trust.organisation_of(public.key_id) == farm.uscc
