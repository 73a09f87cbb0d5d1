"""A bad event or certificate draft is told every field it got wrong at once (docs/events.md,
"Errors"): the shape of its JSON, the formats and bounds of its fields, its envelope."""

from __future__ import annotations

from datetime import date

import pytest

from suyuan.errors import (
    CodeError,
    EventValidationError,
    InvalidInputError,
    MultipleInputError,
    raise_errors,
)
from suyuan.events import event_from_json, validate_event
from suyuan.foodchain import CertificateDraft, certificate_event
from tests.unit.events import example

ACTOR = "N2330185MA2H4K7Q14"
CERTIFICATE = "V9MA0HMRWMYA"


def fields(err: InvalidInputError) -> list[str]:
    return [problem.field for problem in err.problems()]


def test_every_bad_field_of_an_event_is_reported() -> None:
    obj = example("CertificateIssued")
    obj["actor"] = "N2330185MA2H4K7Q15"  # wrong check character
    obj["payload"]["product_name"] = " "
    obj["payload"]["origin_region_code"] = "99"
    obj["location"]["gln"] = "6901234000017"

    with pytest.raises(MultipleInputError) as caught:
        validate_event(event_from_json(obj))

    assert fields(caught.value) == [
        "actor",
        "location.gln",
        "payload.product_name",
        "payload.origin_region_code",
    ]
    # The first problem is the error's own field and rule, for callers that read one.
    assert (caught.value.field, caught.value.reason) == ("actor", CodeError.reason)
    assert isinstance(caught.value.problems()[0], CodeError)
    assert isinstance(caught.value, EventValidationError)
    assert "location.gln" in str(caught.value)


def test_one_bad_field_is_the_error_itself() -> None:
    obj = example("CertificateIssued")
    obj["payload"]["product_name"] = " "

    with pytest.raises(EventValidationError) as caught:
        validate_event(event_from_json(obj))

    assert type(caught.value) is EventValidationError
    assert caught.value.problems() == (caught.value,)


def test_the_envelope_is_checked_beside_the_fields() -> None:
    obj = example("CertificateIssued")
    obj["unit"] = None  # a quantity without its unit
    obj["payload"]["contact"] = "电" * 201

    with pytest.raises(MultipleInputError) as caught:
        validate_event(event_from_json(obj))

    assert fields(caught.value) == ["payload.contact", "unit"]


def test_json_that_does_not_fit_the_schema_is_told_every_field() -> None:
    obj = example("CertificateIssued")
    obj["quantity"] = 500  # a number, not a decimal string
    obj["colour"] = "green"
    del obj["payload"]["category"]
    obj["payload"]["issue_date"] = "6 May 2024"

    with pytest.raises(MultipleInputError) as caught:
        event_from_json(obj)

    assert sorted(fields(caught.value)) == [
        "colour",
        "payload.category",
        "payload.issue_date",
        "quantity",
    ]


def test_a_certificate_draft_is_told_every_problem() -> None:
    draft = CertificateDraft(
        issuer_type="PRODUCER",
        product_name="小青菜",
        category="VEGETABLES",
        quantity="500",
        unit="kg",
        origin=" ",
        issue_date=date(2024, 5, 6),
        contact="0571-63781234",
        origin_region_code="1234567",
        upstream_certificates=["(01)06901234567892(10)A1"],  # a lot code, not a certificate's
        lot_codes=["(01)06901234567892(10)A1", "not a code"],
    )

    with pytest.raises(MultipleInputError) as caught:
        certificate_event(draft, actor=ACTOR, code=CERTIFICATE)

    assert fields(caught.value) == [
        "codes[2]",
        "payload.upstream_certificates[0]",
        "payload.origin",
        "payload.origin_region_code",
    ]


def test_raise_errors_raises_nothing_one_or_all() -> None:
    one = EventValidationError("a", 1, "must be 2")
    two = EventValidationError("b", 3, "must be 4")
    raise_errors([])
    with pytest.raises(EventValidationError) as single:
        raise_errors([one])
    assert single.value is one
    with pytest.raises(MultipleInputError) as several:
        raise_errors([one, MultipleInputError([two, one])])
    assert several.value.problems() == (one, two, one)  # nested ones are flattened
    with pytest.raises(ValueError, match="at least two"):
        MultipleInputError([one])
