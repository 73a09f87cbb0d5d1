"""HTTP plumbing shared by the Suyuan services (design.md §2, §8): JSON errors naming the field and
the rule, Prometheus request metrics, the bearer-token caller and the common response bodies.

The core (``suyuan``) never imports this package; the services under ``services/`` do.
"""

from .app import new_app
from .auth import TOKEN_HELP, TokenCheck, bearer_principal, require_role
from .errors import (
    MAX_FIELD_SHOWN,
    ApiError,
    error_response,
    install_error_handlers,
    shorten_field,
)
from .exports import EXPORT_RESPONSES, FormatQuery, export_response, requested_format
from .guard import (
    Authenticator,
    BodyLimit,
    Limit,
    LimitPolicy,
    RequestGuard,
    TokenBucketLimiter,
    checked_token,
    client_address,
)
from .metrics import UNMATCHED_ROUTE, HttpMetrics, MetricsMiddleware
from .models import ErrorOut, Health

__all__ = [
    "EXPORT_RESPONSES",
    "MAX_FIELD_SHOWN",
    "TOKEN_HELP",
    "UNMATCHED_ROUTE",
    "ApiError",
    "Authenticator",
    "BodyLimit",
    "ErrorOut",
    "FormatQuery",
    "Health",
    "HttpMetrics",
    "Limit",
    "LimitPolicy",
    "MetricsMiddleware",
    "RequestGuard",
    "TokenBucketLimiter",
    "TokenCheck",
    "bearer_principal",
    "checked_token",
    "client_address",
    "error_response",
    "export_response",
    "install_error_handlers",
    "new_app",
    "requested_format",
    "require_role",
    "shorten_field",
]
