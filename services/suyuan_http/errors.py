"""Refusals of the HTTP services as RFC 9457 problem details naming the field and the rule
(design.md §8; docs/http-ingest.md and docs/http-query.md, "Errors").

:class:`ApiError` is a plain exception, so request logic raises it without knowing the web
framework; :func:`install_error_handlers` turns it — and whatever else escapes a route — into an
``application/problem+json`` body of the :class:`~suyuan_http.models.ErrorOut` shape. No stack
trace ever leaves.

A body holds the members of RFC 9457 (``type``, ``title``, ``status``, ``detail``,
``instance``), the first problem's ``reason``, ``field``, ``rule`` and ``value`` (what clients
read before problem details), and ``errors``: every problem of the request, the first included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from suyuan.errors import InvalidInputError, shorten

#: The media type of every error answer (RFC 9457 §3).
PROBLEM_JSON = "application/problem+json"
#: A problem's ``type`` is this prefix and its ``reason``: a URN names the kind of problem for
#: good and is not fetched (RFC 9457 §3.1.1 lets ``type`` be a URI that does not resolve); the
#: reasons are listed in docs/http-ingest.md and docs/http-query.md.
PROBLEM_TYPE_PREFIX = "urn:suyuan:problem:"
#: Field paths are echoed back shortened (an unknown field's name may be anything).
MAX_FIELD_SHOWN = 256
#: At most this many problems are listed in ``errors`` (and in ``detail``): a body of ten
#: thousand bad fields would cost more to answer than to send.
MAX_PROBLEMS = 100
_DETAIL_PROBLEMS = 5
#: What a path may hold unescaped (RFC 3986 ``pchar`` and ``/``): ``instance`` is a URI reference.
_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"
_UNREADABLE = frozenset({"undecodable", "unknown_schema", "invalid_json"})
_HTTP_REASONS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a request: the rule broken, by which part of it, with what value."""

    reason: str
    rule: str
    field: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """``reason``, ``field`` (shortened), ``rule``, ``value``, as text safe to send."""
        return {
            "reason": _printable(self.reason),
            "field": _printable(shorten_field(self.field)),
            "rule": _printable(self.rule),
            "value": _printable(self.value),
        }


@dataclass(eq=False)
class ApiError(Exception):
    """A request refused as a whole: nothing of it was taken.

    ``reason``, ``rule``, ``field`` and ``value`` are the first problem; ``problems`` all of
    them when there are several (empty: the first is the only one).
    """

    status: int
    reason: str
    rule: str
    field: str | None = None
    value: str | None = None
    retry_after: int | None = None
    """Seconds after which the same request may succeed (sent as ``Retry-After``)."""
    problems: tuple[Problem, ...] = ()

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.reason}: {self.rule}")

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Every problem of the request, the first one first."""
        return self.problems or (Problem(self.reason, self.rule, self.field, self.value),)

    @classmethod
    def from_input(
        cls,
        err: InvalidInputError,
        *,
        field: str | None = None,
        rename: Callable[[str], str | None] | None = None,
    ) -> ApiError:
        """400 for bytes that are not the announced format, 422 for a rule broken; every
        problem ``err`` carries (:meth:`~suyuan.errors.InvalidInputError.problems`) is listed.

        ``field`` replaces the field of a single problem; ``rename`` maps each problem's field
        (the core's name, e.g. ``codes[1]``) to the request's (``lot_codes[0]``).
        """
        found = err.problems()
        status = 400 if err.reason in _UNREADABLE else 422
        if len(found) == 1 and field is not None:
            return cls(status, err.reason, err.rule, field, err.value)
        problems = tuple(
            Problem(p.reason, p.rule, rename(p.field) if rename else p.field, p.value)
            for p in found
        )
        first = problems[0]
        return cls(
            status,
            first.reason,
            first.rule,
            first.field,
            first.value,
            problems=problems if len(problems) > 1 else (),
        )

    @classmethod
    def of_problems(cls, status: int, problems: Iterable[Problem]) -> ApiError:
        """One answer listing every one of ``problems`` (at least one).

        Raises:
            ValueError: ``problems`` is empty.
        """
        listed = tuple(problems)
        if not listed:
            raise ValueError("an ApiError needs at least one problem")
        first = listed[0]
        return cls(
            status,
            first.reason,
            first.rule,
            first.field,
            first.value,
            problems=listed if len(listed) > 1 else (),
        )

    def as_dict(self, instance: str | None = None) -> dict[str, Any]:
        """The problem details body (RFC 9457) with the first problem's members and
        ``errors``; ``instance`` is the path of the request refused."""
        problems = self.errors
        first = problems[0].as_dict()
        return {
            "type": PROBLEM_TYPE_PREFIX + self.reason,
            "title": title_of(self.reason),
            "status": self.status,
            "detail": _printable(_detail(problems)),
            "instance": None
            if instance is None
            else quote(instance, safe=_PATH_CHARACTERS, errors="replace"),
            **first,
            "errors": [p.as_dict() for p in problems[:MAX_PROBLEMS]],
        }


def title_of(reason: str) -> str:
    """The title of a kind of problem: its reason in words (``rate_limited`` → ``Rate limited``),
    the same for every occurrence, as RFC 9457 §3.1.3 asks."""
    words = reason.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Error"


def _detail(problems: tuple[Problem, ...]) -> str:
    if len(problems) == 1:
        return problems[0].rule
    shown = "; ".join(
        f"{p.field}: {p.rule}" if p.field else p.rule for p in problems[:_DETAIL_PROBLEMS]
    )
    more = "; …" if len(problems) > _DETAIL_PROBLEMS else ""
    return f"{len(problems)} problems: {shown}{more}"


def shorten_field(field: str | None) -> str | None:
    """``field`` cut to :data:`MAX_FIELD_SHOWN` characters (``None`` stays ``None``)."""
    return None if field is None else shorten(field, MAX_FIELD_SHOWN)


def problem_bytes(error: ApiError, instance: str | None = None) -> bytes:
    """The UTF-8 problem details body of ``error`` (for answers sent below the framework)."""
    return json.dumps(error.as_dict(instance), ensure_ascii=False).encode("utf-8")


def error_response(
    error: ApiError,
    headers: Mapping[str, str] | None = None,
    *,
    detail: bool = True,
    instance: str | None = None,
) -> JSONResponse:
    """The ``application/problem+json`` answer to ``error``; ``instance`` is the request's
    path. ``detail`` is kept for callers written before problem details: every body has one."""
    del detail
    return JSONResponse(
        error.as_dict(instance),
        status_code=error.status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _printable(text: str | None) -> str | None:
    """``text`` as valid UTF-8: an echoed value may hold lone surrogates (``"\\ud800"`` in JSON)."""
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def install_error_handlers(app: FastAPI, log: logging.Logger, *, detail: bool = True) -> None:
    """Answer :class:`ApiError`, request validation errors (every one of them), HTTP errors
    (404, 405…) and any unexpected exception (500, logged on ``log``) with
    :func:`error_response` problem details.

    A 401 carries ``WWW-Authenticate: Bearer``; an error with ``retry_after`` a
    ``Retry-After``. Handlers for more specific exceptions may be
    added to ``app`` afterwards; the most specific one answers. ``detail`` is kept for callers
    written before problem details.
    """
    del detail

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc, headers or None, instance=request.url.path)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_problems(exc), instance=request.url.path)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        reason = _HTTP_REASONS.get(exc.status_code, "http_error")
        error = ApiError(exc.status_code, reason, str(exc.detail))
        return error_response(error, exc.headers, instance=request.url.path)

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError(500, "internal_error", "unexpected error; it was logged")
        return error_response(error, instance=request.url.path)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


def validation_problems(exc: RequestValidationError) -> ApiError:
    """A 422 listing every field FastAPI refused (its path without ``body``/``query``…), with
    the value when it is a plain one (never a whole object: it may hold personal data)."""
    problems = [
        Problem(
            "invalid_input",
            str(item.get("msg", "invalid request")),
            ".".join(str(part) for part in item.get("loc", ())[1:]) or None,
            _plain_value(item.get("input")),
        )
        for item in exc.errors()
    ]
    if not problems:
        return ApiError(422, "invalid_input", "invalid request")
    return ApiError.of_problems(422, problems)


def _plain_value(value: object) -> str | None:
    if isinstance(value, bool | int | float | str):
        return shorten(value)
    return None
