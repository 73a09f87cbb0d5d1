"""Unknown query parameters refused (docs/http-query.md, docs/http-ingest.md "Errors").

A misspelt parameter (``?stauts=open``) is otherwise ignored in silence, and the caller reads
an unfiltered answer as a filtered one. Every route of the JSON API (paths under
:data:`API_PREFIX`) refuses a parameter it does not declare, with 422 naming it and the ones it
takes. Pages (the scan page ``/c/…``, the console, the API docs) ignore unknown parameters: a QR
scanner or a shared link may add tracking ones (``utm_source``…) that must not break a scan.

The declared parameters are read from the route itself (its own and its dependencies' query
parameters), so a route added later is covered as it is written.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from suyuan.errors import shorten

from .errors import ApiError, Problem

#: Routes under this path refuse unknown query parameters; the others ignore them.
API_PREFIX = "/v1/"

#: Where a route keeps its declared names once read (routes are not hashable).
_DECLARED = "_suyuan_declared_query"


async def refuse_unknown_query(request: Request) -> None:
    """A dependency of every route: refuse the query parameters an API route does not declare.
    (``async``: it reads the request only, and a plain function costs a trip through the thread
    pool on every request.)

    Raises:
        ApiError: 422 ``unknown_query_parameter`` naming each unknown parameter.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.path.startswith(API_PREFIX):
        return
    declared = declared_query(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in declared]
    if not unknown:
        return
    takes = ", ".join(sorted(declared)) if declared else "none"
    rule = f"unknown query parameter; this route takes {takes}"
    raise ApiError.of_problems(
        422,
        (
            Problem("unknown_query_parameter", rule, name, shorten(request.query_params[name]))
            for name in unknown
        ),
    )


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` takes (aliases, as a caller writes them)."""
    found: frozenset[str] | None = getattr(route, _DECLARED, None)
    if found is None:
        found = frozenset(_query_names(route.dependant))
        setattr(route, _DECLARED, found)  # the same value whichever request sets it first
    return found


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            # A model of query parameters: its fields are the parameters.
            names.update(f.alias or n for n, f in model.model_fields.items())
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


__all__ = ["API_PREFIX", "declared_query", "refuse_unknown_query"]
