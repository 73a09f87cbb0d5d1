"""API tokens (design.md §8): made once, stored hashed, bound to a role and a scope, revocable."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from suyuan._auth_tables import api_tokens
from suyuan.auth import (
    PUBLIC,
    AuthError,
    Principal,
    Role,
    authenticate,
    create_token,
    revoke_token,
)
from suyuan.errors import CodeError, InvalidInputError
from suyuan.ledger import create_ledger_engine, migrate

FARM = "N2330185MA2H4K7Q14"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_ledger_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_producer_token_authenticates_as_its_organisation(engine: Engine) -> None:
    token = create_token(engine, "producer", organisation=FARM, label="farm ERP")

    assert authenticate(engine, token) == Principal(Role.PRODUCER, organisation=FARM)


def test_regulator_and_admin_tokens(engine: Engine) -> None:
    regulator = create_token(engine, Role.REGULATOR, region="330100")
    admin = create_token(engine, "admin")

    assert authenticate(engine, regulator) == Principal(Role.REGULATOR, region="330100")
    assert authenticate(engine, admin) == Principal(Role.ADMIN)


def test_lower_case_uscc_is_stored_canonical(engine: Engine) -> None:
    token = create_token(engine, "producer", organisation=FARM.lower())

    assert authenticate(engine, token).organisation == FARM


def test_token_shape_and_randomness(engine: Engine) -> None:
    tokens = {create_token(engine, "admin") for _ in range(20)}

    assert len(tokens) == 20
    for token in tokens:
        assert token.startswith("sy_")
        assert len(token) == 35


def test_only_the_sha256_of_a_token_is_stored(engine: Engine) -> None:
    token = create_token(engine, "producer", organisation=FARM, label="farm ERP")

    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_tokens)).all()
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in rows[0])


def test_revoked_token_no_longer_authenticates(engine: Engine) -> None:
    token = create_token(engine, "producer", organisation=FARM)
    other = create_token(engine, "producer", organisation=FARM)

    assert revoke_token(engine, token) == Principal(Role.PRODUCER, organisation=FARM)

    with pytest.raises(AuthError) as caught:
        authenticate(engine, token)
    assert caught.value.reason == "revoked_token"
    assert authenticate(engine, other).organisation == FARM


def test_revoking_twice_is_refused(engine: Engine) -> None:
    token = create_token(engine, "admin")
    revoke_token(engine, token)

    with pytest.raises(AuthError) as caught:
        revoke_token(engine, token)
    assert caught.value.reason == "revoked_token"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("sy_" + "a" * 32, "unknown_token"),
        ("sy_" + "a" * 31, "malformed_token"),
        ("sy_" + "a" * 31 + "!", "malformed_token"),
        ("Bearer sy_" + "a" * 32, "malformed_token"),
        ("", "malformed_token"),
    ],
)
def test_bad_tokens_are_refused_without_echoing_them(
    engine: Engine, token: str, reason: str
) -> None:
    create_token(engine, "admin")

    with pytest.raises(AuthError) as caught:
        authenticate(engine, token)
    assert caught.value.reason == reason
    assert "a" * 20 not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "field", "rule_part"),
    [
        ({"role": "producer"}, "organisation", "needs a USCC"),
        ({"role": "producer", "organisation": FARM, "region": "330100"}, "region", "no region"),
        ({"role": "regulator"}, "region", "6-digit"),
        ({"role": "regulator", "region": "33010"}, "region", "6-digit"),
        ({"role": "regulator", "region": "330100", "organisation": FARM}, "organisation", "only"),
        ({"role": "admin", "region": "330100"}, "region", "only regulator"),
        ({"role": "public"}, "role", "need no token"),
        ({"role": "root"}, "role", "one of producer, regulator, admin"),
        ({"role": "admin", "label": "two\nlines"}, "label", "printable"),
        ({"role": "admin", "label": "x" * 201}, "label", "at most 200"),
    ],
)
def test_bad_token_requests_name_the_field_and_rule(
    engine: Engine, kwargs: dict[str, str], field: str, rule_part: str
) -> None:
    role = kwargs.pop("role")

    with pytest.raises(InvalidInputError) as caught:
        create_token(engine, role, **kwargs)
    assert caught.value.field == field
    assert rule_part in caught.value.rule
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar() == 0


def test_invalid_uscc_is_a_code_error_naming_organisation(engine: Engine) -> None:
    with pytest.raises(CodeError) as caught:
        create_token(engine, "producer", organisation="N2330185MA2H4K7Q15")

    assert caught.value.field == "organisation"
    assert "check character" in caught.value.rule


def test_principal_is_immutable_and_public_has_no_scope() -> None:
    assert Principal(Role.PUBLIC, None, None) == PUBLIC
    with pytest.raises(dataclasses.FrozenInstanceError):
        PUBLIC.role = Role.ADMIN  # type: ignore[misc]
