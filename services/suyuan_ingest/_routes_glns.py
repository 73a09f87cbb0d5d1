"""The GS1 identifiers of organisations over HTTP (docs/epcis.md "Places and parties").

- ``PUT /v1/organisations/{uscc}/glns/{gln}`` (admin token): register a GLN of a registered
  organisation, a place (region code, name, address) or the organisation itself as a party.
  A GLN already another organisation's is refused (409 ``gln_taken``).
- ``GET /v1/organisation/glns`` (producer token): the GLNs registered to the token's
  organisation.

The work is in ``suyuan.places``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from suyuan.auth import Role
from suyuan.errors import InvalidInputError
from suyuan.places import GlnEntry, GlnKind, GlnTakenError, organisation_glns, register_gln
from suyuan_http import ApiError, ErrorOut, require_role

from ._deps import ContextDep, PrincipalDep, ProducerDep
from ._routes_organisation import _directory

router = APIRouter(tags=["organisation"])
GLN_PATH = "/v1/organisations/{uscc}/glns/{gln}"


class GlnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: GlnKind = Field(description="`place` (GS1 AI 414) or `party` (the organisation, 417).")
    region_code: str | None = Field(None, description="A place's GB/T 2260 region code.")
    name: str | None = Field(None, max_length=200, description="A place's name.")
    address: str | None = Field(None, max_length=500, description="A place's address.")


class GlnOut(BaseModel):
    gln: str
    kind: GlnKind
    organisation: str = Field(description="USCC (统一社会信用代码) of its organisation.")
    region_code: str | None
    name: str | None
    address: str | None


class GlnsOut(BaseModel):
    glns: list[GlnOut]


_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No token, or an unknown or revoked one."},
    429: {"model": ErrorOut, "description": "Too many requests."},
}


@router.put(
    GLN_PATH,
    response_model=GlnOut,
    responses={
        **_AUTH,
        403: {"model": ErrorOut, "description": "Not an admin token."},
        404: {"model": ErrorOut, "description": "No organisation registered with this USCC."},
        413: {"model": ErrorOut, "description": "A body over SUYUAN_MAX_JSON_BODY_BYTES."},
        409: {"model": ErrorOut, "description": "The GLN is another organisation's."},
        422: {"model": ErrorOut, "description": "Not a GLN, or a place without region or name."},
    },
    summary="Register a GLN of an organisation: one of its places, or itself (admin token)",
)
def put_gln(
    body: GlnIn,
    principal: PrincipalDep,
    context: ContextDep,
    request: Request,
    uscc: Annotated[str, Path(max_length=18)],
    gln: Annotated[str, Path(max_length=13)],
) -> GlnOut:
    """An admin registers what GS1 assigned: the organisation's GLNs, checked against its GS1
    membership as its registration is checked against its licence. Registering the same GLN
    for the same organisation again replaces its place's region, name and address; EPCIS
    events captured at it from then on record them."""
    require_role(principal, frozenset({Role.ADMIN}), "an admin token")
    if _directory(request, context).get(uscc) is None:
        raise ApiError(404, "not_found", "no organisation registered with this USCC", "uscc", uscc)
    entry = GlnEntry(gln, body.kind, uscc, body.region_code, body.name, body.address)
    try:
        return _out(register_gln(context.engine, entry))
    except GlnTakenError as err:
        raise ApiError(409, err.reason, err.rule, err.field, err.value) from None
    except InvalidInputError as err:
        raise ApiError.from_input(err) from None


@router.get(
    "/v1/organisation/glns",
    response_model=GlnsOut,
    responses={**_AUTH, 403: {"model": ErrorOut, "description": "Not a producer token."}},
    summary="The GLNs registered to the token's organisation (producer token)",
)
def get_glns(producer: ProducerDep, context: ContextDep) -> GlnsOut:
    """The places and party GLN an EPCIS capture by this organisation may name."""
    return GlnsOut(glns=[_out(e) for e in organisation_glns(context.engine, producer.organisation)])


def _out(entry: GlnEntry) -> GlnOut:
    return GlnOut(
        gln=entry.gln,
        kind=entry.kind,
        organisation=entry.organisation,
        region_code=entry.region_code,
        name=entry.name,
        address=entry.address,
    )
