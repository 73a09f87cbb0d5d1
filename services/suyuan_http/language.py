"""The language of the words an answer holds: ``?lang=`` when given, else ``Accept-Language``
(zh or en, q-values honoured), else Chinese (docs/scan-page.md, docs/http-query.md).

:class:`LanguageMiddleware` reads ``Accept-Language`` once per request. Code that picks the
language of its words calls :func:`answer_language`; the middleware then marks that answer with
``Content-Language`` and ``Vary: Accept-Language``, so a cache keeps the Chinese and the English
answers of one URL apart. Answers that pick no language (JSON holding both, errors) are left
unmarked.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The languages answers are written in, and the one of a caller that states none.
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
#: ``Content-Language`` of each language.
CONTENT_LANGUAGE = {"zh": "zh-CN", "en": "en"}
_MAX_HEADER = 1024


@dataclass(slots=True)
class _Negotiation:
    accepted: str | None
    """The language ``Accept-Language`` prefers (``None``: it names neither)."""
    used: str | None = None
    """The language the answer's words were written in, once picked."""


_current: contextvars.ContextVar[_Negotiation | None] = contextvars.ContextVar(
    "suyuan_language", default=None
)


def accepted_language(header: str | None) -> str | None:
    """zh or en, whichever ``header`` (an ``Accept-Language`` value) prefers; ``None`` when it
    names neither. Ranges are weighed by their q-value, ties by order; ``q=0`` refuses; ``*``
    takes the default."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header[:_MAX_HEADER].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = _quality(params)
        language = _language_of(tag.strip().lower())
        if language is None or quality <= 0:
            continue
        candidate = (-quality, position, language)
        if best is None or candidate < best:
            best = candidate
    return None if best is None else best[2]


def _language_of(tag: str) -> str | None:
    if tag == "*":
        return DEFAULT_LANGUAGE
    primary = tag.split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def answer_language(explicit: str | None = None) -> str:
    """The language to answer in: ``explicit`` (a ``?lang=`` value: en… is English, anything
    else Chinese) when given, else the request's ``Accept-Language``, else Chinese. The
    answer is marked with ``Content-Language`` and ``Vary: Accept-Language``."""
    negotiation = _current.get()
    if explicit:
        language = "en" if explicit.strip().lower().startswith("en") else "zh"
    elif negotiation is not None and negotiation.accepted is not None:
        language = negotiation.accepted
    else:
        language = DEFAULT_LANGUAGE
    if negotiation is not None:
        negotiation.used = language
    return language


class LanguageMiddleware:
    """Pure ASGI middleware: reads ``Accept-Language`` for :func:`answer_language` and marks
    the answers that used it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"accept-language":
                header = bytes(value).decode("latin-1")
                break
        negotiation = _Negotiation(accepted_language(header))
        token = _current.set(negotiation)

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start" and negotiation.used is not None:
                headers = MutableHeaders(scope=message)
                headers["Content-Language"] = CONTENT_LANGUAGE[negotiation.used]
                headers.add_vary_header("Accept-Language")
            await send(message)

        try:
            await self.app(scope, receive, marked)
        finally:
            _current.reset(token)


__all__ = [
    "CONTENT_LANGUAGE",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LanguageMiddleware",
    "accepted_language",
    "answer_language",
]
