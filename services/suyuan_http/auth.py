"""The caller of an HTTP service, from an ``Authorization: Bearer`` API token (design.md §8).

No token makes the caller :data:`~suyuan.auth.PUBLIC`; a token that does not check out is a 401
(never the public view). Each service says how it checks a token; this module turns the outcome
into a FastAPI dependency and the role checks into 401/403 :class:`~suyuan_http.errors.ApiError`.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's annotations at
# runtime, and they refer to the security scheme made inside the factory.

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from suyuan.auth import PUBLIC, AuthError, Principal, Role

from .errors import ApiError
from .guard import checked_token

#: Checks a presented token. Raises: AuthError for an unknown, malformed or revoked one.
TokenCheck = Callable[[Request, str], Principal]

TOKEN_HELP = "An API token (`sy_…`) from `suyuan token create`."


def bearer_principal(
    check: TokenCheck, *, description: str = TOKEN_HELP
) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller's :class:`~suyuan.auth.Principal`.

    It publishes the ``token`` HTTP bearer security scheme (with ``description``) in OpenAPI.
    The dependency raises :class:`ApiError` 401 (``field`` ``Authorization``, the reason of the
    :class:`~suyuan.auth.AuthError`) when ``check`` refuses the token.
    """
    scheme = HTTPBearer(auto_error=False, scheme_name="token", description=description)

    # async: a public caller, or a token the request guard has checked, costs no trip through
    # the thread pool; a token check (which may read the database) still runs in it
    async def get_principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> Principal:
        if credentials is None:
            return PUBLIC
        try:
            checked = checked_token(request)
            if isinstance(checked, AuthError):
                raise checked
            if checked is not None:
                return checked
            return await run_in_threadpool(check, request, credentials.credentials)
        except AuthError as err:
            raise ApiError(401, err.reason, str(err), field="Authorization") from None

    return get_principal


def require_role(principal: Principal, roles: frozenset[Role], what: str) -> Principal:
    """``principal`` if its role is one of ``roles``; ``what`` names the token wanted
    (e.g. ``"a producer token"``).

    Raises:
        ApiError: 401 ``missing_token`` without a token, 403 ``forbidden`` for another role.
    """
    if principal.role is Role.PUBLIC:
        raise ApiError(
            401, "missing_token", f"send {what}: `Authorization: Bearer sy_…`", "Authorization"
        )
    if principal.role not in roles:
        raise ApiError(
            403,
            "forbidden",
            f"needs {what} (this is a {principal.role.value} token)",
            field="Authorization",
        )
    return principal
