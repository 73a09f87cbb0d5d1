"""Hostile values in the paths and query parameters of the query service's routes, public and
with a regulator token: every answer is a 4xx (a problem, or the scan page's error page) —
never a 5xx, never a stack trace."""

from __future__ import annotations

import base64

import pytest

from tests.integration import test_log_tiles
from tests.integration.test_trace_api import Query

log = test_log_tiles.log  # the demo ledger and some 300 entries, a signed checkpoint

_DIGITS = "9" * 5000
_NESTED = base64.urlsafe_b64encode(b"[" * 1400).decode().rstrip("=")

_PATHS = [
    f"/c/(01){_DIGITS}",
    "/c/%00",
    "/c/" + "A" * 5000,
    f"/c/{_DIGITS}/label.pdf",
    f"/01/{_DIGITS}/10/x",
    "/01/09506000134352/10/" + "%FF" * 20,
    f"/v1/trace/{_DIGITS}",
    f"/v1/events/{_DIGITS}",
    f"/v1/ledger/proof/{_DIGITS}",
    f"/v1/ledger/checkpoint?shard={_DIGITS}",
    f"/v1/ledger/consistency?old={_DIGITS}&new=1",
    f"/v1/ledger/consistency?old=1&new={_DIGITS}",
    f"/v1/recalls?cursor={_NESTED}",
    f"/v1/recalls?limit={_DIGITS}",
    f"/v1/recalls/{_DIGITS}",
    f"/v1/alerts?cursor={_NESTED}",
    f"/v1/alerts?limit={_DIGITS}",
    f"/v1/notices?cursor={_NESTED}",
    "/v1/certificates?cursor=%00",
    f"/log/{_DIGITS}/checkpoint",
    f"/console/trace/{_DIGITS}",
    "/v1/trace/x?unknown=1",
]


@pytest.mark.parametrize("path", _PATHS, ids=range(len(_PATHS)))
@pytest.mark.parametrize("who", ["public", "regulator"])
def test_a_hostile_path_or_parameter_is_never_a_5xx(log: Query, path: str, who: str) -> None:
    token = log.regulator_token if who == "regulator" else None
    answer = log.get(path, token)
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text
