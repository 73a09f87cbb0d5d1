"""Feed every operation of an app's OpenAPI document generated input; no answer may be a 5xx.

Schemathesis reads ``/openapi.json`` and generates requests for each operation — valid ones
(positive) and ones the schema forbids (negative: wrong types, missing or malformed parameters,
odd strings). Hypothesis drives each operation's strategy directly (rather than through
Schemathesis's pytest fixture integration), so the run does not depend on pytest internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error


def operations(app: Any) -> list[schemathesis.APIOperation]:
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in api.get_all_operations()]


def listed_operations(app: Any) -> set[str]:
    return {f"{op.method.upper()} {op.path}" for op in operations(app)}


def assert_no_server_errors(
    app: Any,
    mode: GenerationMode,
    header_sets: Sequence[Mapping[str, str]],
    *,
    examples: int = 15,
    only: Sequence[str] = (),
) -> None:
    """Send ``examples`` generated requests per operation (those of ``only``, e.g.
    ``"GET /v1/notices"``, when given), once with each set of headers."""
    for operation in operations(app):
        if only and f"{operation.method.upper()} {operation.path}" not in only:
            continue
        if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
            continue  # nothing to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def answers_without_5xx(case: schemathesis.Case) -> None:
            for headers in header_sets:
                case.call_and_validate(checks=[not_a_server_error], headers=dict(headers))

        answers_without_5xx()


def _has_inputs(operation: schemathesis.APIOperation) -> bool:
    return any(True for _ in operation.iter_parameters()) or bool(list(operation.body))
