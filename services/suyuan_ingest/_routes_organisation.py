"""The caller's organisation over HTTP (docs/http-ingest.md § Your organisation).

- ``GET /v1/organisation`` (producer token): who the token speaks for, as the trust chain
  registered it, and its 联系方式.
- ``PUT /v1/organisation/contact`` (producer token): set the 联系方式 that certificates issued
  without ``contact`` print (``suyuan.contacts``).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from suyuan.contacts import organisation_contact, set_organisation_contact
from suyuan.directory import Directory
from suyuan.errors import InvalidInputError
from suyuan_http import ApiError, ErrorOut

from ._deps import AppContext, ContextDep, ProducerDep

router = APIRouter(tags=["organisation"])

_DIRECTORY_KEY = "organisation_directory"
_directory_lock = threading.Lock()
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    403: {"model": ErrorOut, "description": "Not a producer token."},
    429: {"model": ErrorOut, "description": "Too many requests from this organisation."},
}


class OrganisationOut(BaseModel):
    uscc: str = Field(description="统一社会信用代码: the organisation the token speaks for.")
    name: str | None = Field(description="Registered name; null when not registered yet.")
    roles: list[str]
    region_code: str | None
    contact: str | None = Field(
        description="联系方式 printed on certificates issued without `contact`; null: none set."
    )


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact: str = Field(description="联系方式: a telephone number (at least 7 digits).")


@router.get(
    "/v1/organisation",
    response_model=OrganisationOut,
    responses=_AUTH,
    summary="The token's organisation: registration and 联系方式 (producer token)",
)
def get_organisation(
    producer: ProducerDep, context: ContextDep, request: Request
) -> OrganisationOut:
    """What the trust chain registered for the organisation, and the 联系方式 it set."""
    return _organisation_out(request, producer.organisation, context)


@router.put(
    "/v1/organisation/contact",
    response_model=OrganisationOut,
    responses={
        **_AUTH,
        413: {"model": ErrorOut, "description": "A body over SUYUAN_MAX_JSON_BODY_BYTES."},
        422: {"model": ErrorOut, "description": "Not a telephone number (field `contact`)."},
    },
    summary="Set the organisation's 联系方式, printed on its certificates (producer token)",
)
def put_contact(
    body: ContactIn, producer: ProducerDep, context: ContextDep, request: Request
) -> OrganisationOut:
    """Replaces the 联系方式 that certificates issued without `contact` print from now on;
    certificates already issued keep the one they were signed with."""
    try:
        set_organisation_contact(context.engine, producer.organisation, body.contact)
    except InvalidInputError as err:
        raise ApiError.from_input(err) from None
    return _organisation_out(request, producer.organisation, context)


def _organisation_out(request: Request, uscc: str, context: AppContext) -> OrganisationOut:
    registered = _directory(request, context).get(uscc)
    return OrganisationOut(
        uscc=uscc,
        name=None if registered is None else registered.name,
        roles=[] if registered is None else sorted(registered.roles),
        region_code=None if registered is None else registered.region,
        contact=organisation_contact(context.engine, uscc),
    )


def _directory(request: Request, context: AppContext) -> Directory:
    """The app's directory (made on first use), caught up with the trust events."""
    directory = getattr(request.app.state, _DIRECTORY_KEY, None)
    if directory is None:
        with _directory_lock:
            directory = getattr(request.app.state, _DIRECTORY_KEY, None)
            if directory is None:
                directory = Directory(context.store)
                setattr(request.app.state, _DIRECTORY_KEY, directory)
    assert isinstance(directory, Directory)
    directory.refresh()
    return directory
