"""QR images of a code's scan URL (design.md §3, §8): what a label or a 合格证 prints.

The QR holds the code's scan URL (``suyuan.codes.scan_url``: a GS1 Digital Link for GS1 codes,
``{PUBLIC_BASE_URL}/c/{code}`` for the others), drawn by the ``qrcode``
package with error correction M (15 %: survives a smudged or creased label) and the standard
quiet zone of 4 modules. SVG for print, PNG for everything else. The image of a code never
changes for a given base URL, so it may be cached for a day.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import qrcode
import qrcode.constants
from fastapi import APIRouter, Query, Response
from qrcode.image.base import BaseImage
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

from suyuan.codes import parse_trace_code, scan_url
from suyuan.errors import CodeError
from suyuan_http import ApiError

from ._deps import ContextDep
from ._models import ErrorOut

router = APIRouter(tags=["codes"])

QUIET_ZONE = 4
CACHE_CONTROL = "public, max-age=86400"
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Not a valid trace code; names the rule broken."},
    429: {"model": ErrorOut, "description": "Too many requests from this address."},
}
BoxQuery = Annotated[
    int, Query(ge=1, le=40, description="Size of one QR module (SVG: 10 = 1 mm; PNG: pixels).")
]


@router.get(
    "/v1/codes/{code:path}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **_ERRORS},
    summary="QR image (SVG) of the code's scan URL",
)
def qr_svg(code: str, context: ContextDep, box: BoxQuery = 10) -> Response:
    image = _qr(_scan_url(context, code), box, SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return _image(buffer.getvalue(), "image/svg+xml")


@router.get(
    "/v1/codes/{code:path}/qr.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}},
        **_ERRORS,
        503: {"model": ErrorOut, "description": "PNG rendering is not installed here."},
    },
    summary="QR image (PNG) of the code's scan URL",
)
def qr_png(code: str, context: ContextDep, box: BoxQuery = 8) -> Response:
    url = _scan_url(context, code)
    buffer = io.BytesIO()
    try:
        _qr(url, box, PyPNGImage).save(buffer)
    except ImportError:  # qrcode draws PNG with the pypng package
        raise ApiError(
            503, "png_unavailable", "PNG rendering needs the pypng package; use qr.svg"
        ) from None
    return _image(buffer.getvalue(), "image/png")


def _scan_url(context: ContextDep, code: str) -> str:
    try:
        parsed = parse_trace_code(code, field="code")
    except CodeError as err:
        raise ApiError(400, err.reason, err.rule, err.field, err.value) from None
    return scan_url(context.settings.public_base_url, parsed)


def _qr(data: str, box: int, factory: type[BaseImage]) -> BaseImage:
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box,
        border=QUIET_ZONE,
        image_factory=factory,
    )
    qr.add_data(data)
    qr.make(fit=True)
    image: BaseImage = qr.make_image()
    return image


def _image(content: bytes, media_type: str) -> Response:
    return Response(content, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})
