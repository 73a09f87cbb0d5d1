"""``?format=json|csv|xlsx`` on a list endpoint (docs/exports.md).

A route takes :data:`FormatQuery`, checks it with :func:`requested_format` before any work, and
for ``csv``/``xlsx`` returns :func:`export_response` of the same rows its JSON holds; the
files are made by :mod:`suyuan.exports`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from suyuan.exports import (
    MEDIA_TYPES,
    ExportFormatError,
    Table,
    export_format,
    filename,
    render,
)

from .errors import ApiError

FormatQuery = Annotated[
    str | None,
    Query(
        alias="format",
        description="`json` (default), `csv` (UTF-8 with BOM) or `xlsx`: the same rows as a "
        "file to download (docs/exports.md).",
    ),
]

#: OpenAPI ``responses`` entry of an exporting route: its 200 may also be a file.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with `format` a CSV or XLSX file (Content-Disposition: "
        "attachment).",
        "content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()},
    }
}


def requested_format(value: str | None) -> str:
    """The format asked (``json`` when none).

    Raises:
        ApiError: 422 naming ``format`` for anything but json, csv or xlsx.
    """
    try:
        return export_format(value)
    except ExportFormatError as err:
        raise ApiError(422, err.reason, err.rule, err.field, err.value) from None


def export_response(table: Table, fmt: str, stem: str) -> Response:
    """``table`` as a ``fmt`` (csv or xlsx) download named ``{stem}-{date}.{fmt}``."""
    return Response(
        content=render(table, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename(stem, fmt)}"'},
    )
