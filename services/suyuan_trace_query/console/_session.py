"""The console's session: an encrypted, signed, expiring cookie holding the API token.

The cookie is a Fernet token (AES-128-CBC + HMAC-SHA256 with a timestamp, from the
``cryptography`` package the project already pins) under a key derived from the server secret
``SUYUAN_CONSOLE_SECRET``: the browser can neither read the API token inside nor change it, and
a cookie older than ``SUYUAN_CONSOLE_SESSION_HOURS`` is refused. The token is checked against
the token table on every request, so a revoked token ends its sessions at once.

Each session (also the one before sign-in) carries a random CSRF value; every form repeats it
in a hidden field and every POST is refused unless the two match. The cookie is ``HttpOnly``,
``SameSite=Strict``, limited to ``/console`` and ``Secure`` when the request came over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

from suyuan.config import Settings

log = logging.getLogger("suyuan.trace_query.console")

COOKIE = "suyuan_console"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class Session:
    """What the cookie holds: the API token once signed in, and the CSRF value."""

    csrf: str
    token: str | None = None


class SessionSeal:
    """Seals and opens session cookies with the server secret."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.console_secret
        if secret is None:
            log.warning("SUYUAN_CONSOLE_SECRET is not set: console sessions end at restart")
            raw = secrets.token_bytes(32)
        else:
            raw = secret.get_secret_value().encode("utf-8")
            if len(raw) < 32:
                raise ValueError("SUYUAN_CONSOLE_SECRET must be at least 32 characters")
        # A key of its own: the secret is never used as is.
        derived = hashlib.sha256(b"suyuan console session v1\0" + raw).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self.max_age = int(settings.console_session_hours * 3600)

    def open(self, request: Request) -> Session | None:
        """The request's session, or ``None`` (no cookie, forged, or expired)."""
        sealed = request.cookies.get(COOKIE)
        if not sealed:
            return None
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode("ascii"), ttl=self.max_age))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        token = data.get("token")
        return Session(csrf=data["csrf"], token=token if isinstance(token, str) else None)

    def store(self, request: Request, response: Response, session: Session) -> None:
        """Set the cookie of ``session`` on ``response``."""
        data = json.dumps({"csrf": session.csrf, "token": session.token}).encode("utf-8")
        response.set_cookie(
            COOKIE,
            self._fernet.encrypt(data).decode("ascii"),
            max_age=self.max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def new_session(token: str | None = None) -> Session:
    return Session(csrf=secrets.token_urlsafe(24), token=token)


def csrf_matches(session: Session | None, sent: str | None) -> bool:
    """Whether a form's CSRF value is the session's (constant time)."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf.encode("utf-8"), sent.encode("utf-8"))
