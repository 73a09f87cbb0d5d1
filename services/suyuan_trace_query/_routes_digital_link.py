"""GS1 Digital Link resolution on our host (docs/codes.md "GS1 Digital Link").

``GET /01/{gtin}[/10/{lot}][/21/{serial}]`` and ``GET /00/{sscc}`` are what a GS1 code's QR holds
(``suyuan.codes.scan_url``). The answer follows the GS1-Conformant Resolver standard (1.1):

- a browser (or any client not asking for a linkset) gets the consumer scan page itself, the
  same page as ``/c/{code}``;
- ``Accept: application/linkset+json``, or ``?linkType=all``, gets the code's links as an RFC 9264
  linkset keyed by GS1 link types (``gs1:defaultLink``, ``gs1:traceability``, ``gs1:epcis``);
- ``?linkType=gs1:traceability`` (or another link type we hold) redirects (307) to that link.

The identifiers are read from the raw request path: a ``/`` inside a lot arrives as ``%2F`` and
must not be taken for a path separator.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from suyuan.codes import (
    TraceCode,
    code_from_scan_url,
    digital_link_uri,
    legacy_scan_url,
)
from suyuan.errors import CodeError
from suyuan_http import ApiError

from ._deps import QueryContext
from ._models import ErrorOut
from .scan import LangQuery, scan_page

router = APIRouter(tags=["codes"])

LINKSET_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
DEFAULT_LINK = "gs1:defaultLink"
#: The link types a code's linkset holds, by their compact (``gs1:``) names.
LINK_TYPES = (DEFAULT_LINK, "gs1:traceability", "gs1:epcis")

LinkTypeQuery = Annotated[
    str | None,
    Query(
        alias="linkType",
        description="`all` (or `linkset`) for the linkset; a GS1 link type such as "
        "`gs1:traceability` to be redirected to it; absent or unknown: the scan page.",
    ),
]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/html": {}, LINKSET_TYPE: {}},
        "description": "The scan page, or the code's linkset (RFC 9264).",
    },
    307: {"description": "To the link of the requested `linkType`."},
    400: {"model": ErrorOut, "description": "Not a valid GS1 Digital Link; names the rule."},
    404: {"model": ErrorOut, "description": "A valid code with no recorded events."},
}


def _resolve(request: Request, lang: str | None, link_type: str | None) -> Response:
    path = _raw_path(request)
    wants_linkset = link_type in ("all", "linkset") or LINKSET_TYPE in request.headers.get(
        "accept", ""
    )
    redirect_to = link_type if link_type in LINK_TYPES[1:] else None
    if not wants_linkset and redirect_to is None:
        # The scan page reads the code from the whole URL and renders its own 400 page for one
        # it cannot read, naming the rule broken.
        return scan_page(request, str(request.base_url).rstrip("/") + path, lang)
    try:
        code = code_from_scan_url(path, field="code")
    except CodeError as err:
        raise ApiError(400, err.reason, err.rule, err.field, err.value) from None
    context: QueryContext = request.app.state.context
    if not context.store.code_events(code.value):
        raise ApiError(404, "not_found", f"no events recorded for code {code}", "code", code.value)
    links = code_links(context.settings.public_base_url, code)
    if redirect_to is not None and not wants_linkset:
        return RedirectResponse(links[redirect_to][0]["href"], status_code=307)
    anchor = digital_link_uri(context.settings.public_base_url, code)
    body = {"linkset": [{"anchor": anchor, **{_expand(t): v for t, v in links.items()}}]}
    headers = {
        "Link": f'<{anchor}?linkType=all>; rel="linkset"; type="{LINKSET_TYPE}"',
        "Vary": "Accept",
    }
    return JSONResponse(body, media_type=LINKSET_TYPE, headers=headers)


def code_links(base_url: str, code: TraceCode) -> dict[str, list[dict[str, Any]]]:
    """The links of ``code`` by compact GS1 link type: the scan page (default link), its trace
    (JSON) and its trace as an EPCIS 2.0 document."""
    root = base_url.rstrip("/")
    trace = f"{root}/v1/trace/{quote(code.value, safe='()')}"
    return {
        DEFAULT_LINK: [
            {
                "href": legacy_scan_url(base_url, code),
                "title": "溯源查询 · Trace (scan page)",
                "type": "text/html",
                "hreflang": ["zh-CN", "en"],
            }
        ],
        "gs1:traceability": [{"href": trace, "title": "Trace (JSON)", "type": "application/json"}],
        "gs1:epcis": [
            {
                "href": f"{trace}?format=epcis",
                "title": "Trace as a GS1 EPCIS 2.0 document",
                "type": "application/ld+json",
            }
        ],
    }


def _expand(link_type: str) -> str:
    return GS1_VOC + link_type.removeprefix("gs1:")


def _raw_path(request: Request) -> str:
    """The request path as sent (``%2F`` kept), without the app's root path."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    root = str(request.scope.get("root_path", "")).rstrip("/")
    path = raw.decode("latin-1").split("?", 1)[0]
    return path.removeprefix(root) if root and unquote(path).startswith(root) else path


@router.get(
    "/01/{rest:path}",
    response_class=Response,
    responses=_RESPONSES,
    summary="GS1 Digital Link of a GTIN (+ lot, serial): the scan page or the code's linkset",
)
def resolve_gtin(
    request: Request, rest: str, lang: LangQuery = None, link_type: LinkTypeQuery = None
) -> Response:
    """`/01/{GTIN-14}`, optionally `/10/{lot}` and `/21/{serial}`; attributes in the query
    string (`?17=261231`) are read and ignored (they do not identify the goods)."""
    del rest  # read from the raw path
    return _resolve(request, lang, link_type)


@router.get(
    "/00/{rest:path}",
    response_class=Response,
    responses=_RESPONSES,
    summary="GS1 Digital Link of an SSCC: the scan page or the code's linkset",
)
def resolve_sscc(
    request: Request, rest: str, lang: LangQuery = None, link_type: LinkTypeQuery = None
) -> Response:
    """`/00/{SSCC}`: a logistic unit (case, pallet)."""
    del rest
    return _resolve(request, lang, link_type)
