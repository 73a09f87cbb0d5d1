"""Refusals of the HTTP services as JSON naming the field and the rule (design.md §8).

:class:`ApiError` is a plain exception, so request logic raises it without knowing the web
framework; :func:`install_error_handlers` turns it — and whatever else escapes a route — into a
JSON body of the :class:`~suyuan_http.models.ErrorOut` shape. No stack trace ever leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from suyuan.errors import InvalidInputError, shorten

#: Field paths are echoed back shortened (an unknown field's name may be anything).
MAX_FIELD_SHOWN = 256
_UNREADABLE = frozenset({"undecodable", "unknown_schema", "invalid_json"})
_HTTP_REASONS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


@dataclass(eq=False)
class ApiError(Exception):
    """A request refused as a whole: nothing of it was taken."""

    status: int
    reason: str
    rule: str
    field: str | None = None
    value: str | None = None
    retry_after: int | None = None
    """Seconds after which the same request may succeed (sent as ``Retry-After``)."""

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.reason}: {self.rule}")

    @classmethod
    def from_input(cls, err: InvalidInputError, *, field: str | None = None) -> ApiError:
        """400 for bytes that are not the announced format, 422 for a rule broken."""
        status = 400 if err.reason in _UNREADABLE else 422
        return cls(status, err.reason, err.rule, field or err.field, err.value)

    def as_dict(self) -> dict[str, str | None]:
        """The JSON body: ``reason``, ``field`` (shortened), ``rule``, ``value``."""
        return {
            "reason": self.reason,
            "field": shorten_field(self.field),
            "rule": self.rule,
            "value": self.value,
        }


def shorten_field(field: str | None) -> str | None:
    """``field`` cut to :data:`MAX_FIELD_SHOWN` characters (``None`` stays ``None``)."""
    return None if field is None else shorten(field, MAX_FIELD_SHOWN)


def error_response(
    error: ApiError, headers: Mapping[str, str] | None = None, *, detail: bool = False
) -> JSONResponse:
    """The JSON answer to ``error``; with ``detail``, the body repeats the rule as ``detail``
    (the query service's contract, docs/http-query.md)."""
    body = error.as_dict()
    if detail:
        body["detail"] = error.rule
    return JSONResponse(
        {name: _printable(text) for name, text in body.items()},
        status_code=error.status,
        headers=headers,
    )


def _printable(text: str | None) -> str | None:
    """``text`` as valid UTF-8: an echoed value may hold lone surrogates (``"\\ud800"`` in JSON)."""
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def install_error_handlers(app: FastAPI, log: logging.Logger, *, detail: bool = False) -> None:
    """Answer :class:`ApiError`, request validation errors, HTTP errors (404, 405…) and any
    unexpected exception (500, logged on ``log``) with :func:`error_response` JSON.

    A 401 carries ``WWW-Authenticate: Bearer``; an error with ``retry_after`` a
    ``Retry-After``. Handlers for more specific exceptions may be
    added to ``app`` afterwards; the most specific one answers.
    """

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc, headers or None, detail=detail)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_first_validation_error(exc), detail=detail)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        reason = _HTTP_REASONS.get(exc.status_code, "http_error")
        error = ApiError(exc.status_code, reason, str(exc.detail))
        return error_response(error, exc.headers, detail=detail)

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError(500, "internal_error", "unexpected error; it was logged")
        return error_response(error, detail=detail)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


def _first_validation_error(exc: RequestValidationError) -> ApiError:
    """A 422 naming the first field FastAPI refused (its path without ``body``/``query``)."""
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ())[1:]]
    return ApiError(
        422,
        "invalid_input",
        str(first.get("msg", "invalid request")),
        field=".".join(location) or None,
    )
