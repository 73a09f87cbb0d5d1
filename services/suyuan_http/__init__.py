"""HTTP plumbing shared by the Suyuan services (design.md §2, §8): problem details naming the field
and the rule, unknown query parameters refused, ``Accept-Language``, Prometheus request metrics,
the bearer-token caller and the common response bodies.

The core (``suyuan``) never imports this package; the services under ``services/`` do.
"""

from .app import new_app
from .auth import TOKEN_HELP, TokenCheck, bearer_principal, require_role
from .errors import (
    MAX_FIELD_SHOWN,
    MAX_PROBLEMS,
    PROBLEM_JSON,
    ApiError,
    Problem,
    error_response,
    install_error_handlers,
    problem_bytes,
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
from .language import LanguageMiddleware, accepted_language, answer_language
from .metrics import UNMATCHED_ROUTE, HttpMetrics, MetricsMiddleware
from .models import ErrorOut, Health, ProblemOut
from .query import API_PREFIX, refuse_unknown_query

__all__ = [
    "API_PREFIX",
    "EXPORT_RESPONSES",
    "MAX_FIELD_SHOWN",
    "MAX_PROBLEMS",
    "PROBLEM_JSON",
    "TOKEN_HELP",
    "UNMATCHED_ROUTE",
    "ApiError",
    "Authenticator",
    "BodyLimit",
    "ErrorOut",
    "FormatQuery",
    "Health",
    "HttpMetrics",
    "LanguageMiddleware",
    "Limit",
    "LimitPolicy",
    "MetricsMiddleware",
    "Problem",
    "ProblemOut",
    "RequestGuard",
    "TokenBucketLimiter",
    "TokenCheck",
    "accepted_language",
    "answer_language",
    "bearer_principal",
    "checked_token",
    "client_address",
    "error_response",
    "export_response",
    "install_error_handlers",
    "new_app",
    "problem_bytes",
    "refuse_unknown_query",
    "requested_format",
    "require_role",
    "shorten_field",
]
