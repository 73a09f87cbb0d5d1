"""Attacks on the static log tiles (``/log/{shard}/…``, C2SP tlog-tiles; docs/verification.md):
entry bundles hold full signed events, so no path trick may reach one without a regulator or
admin token; and no tile path, however large its level or index, may cost a 5xx or a slow
answer."""

from __future__ import annotations

import time

import pytest

from tests.integration import test_log_tiles
from tests.integration.test_trace_api import Query

log = test_log_tiles.log  # shard 0 with some 300 entries and a signed checkpoint

_BUNDLE_TRICKS = [
    "/log/0/tile/entries/000",
    "/log/0/tile/%65ntries/000",
    "/log/0/tile/entries%2F000",
    "/log/0/tile//entries/000",
    "/log/0/tile/ENTRIES/000",
    "/log/0/tile/0/../entries/000",
    "/log/0/tile/entries/000.p/1",
    "/log/0/tile/entries/./000",
    "/log/00/tile/entries/000",
    "/log/+0/tile/entries/000",
    "/log/0/tile/entries/000?token=x",
]


@pytest.mark.parametrize("path", _BUNDLE_TRICKS)
def test_no_path_reaches_an_entry_bundle_without_an_overseer_token(log: Query, path: str) -> None:
    for token in (None, log.farm_token):
        answer = log.client.get(
            path, headers={} if token is None else {"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code in (400, 401, 403, 404, 422), (path, answer.status_code)
        assert answer.headers.get("content-type") != "application/octet-stream"


_EXPENSIVE = [
    "/log/0/tile/63/000",
    "/log/0/tile/63/000.p/255",
    "/log/0/tile/62/x999/999",
    "/log/0/tile/0/" + "x999/" * 40 + "999",
    "/log/0/tile/0/" + "x999/" * 1500 + "999",  # 4,503 digits: past Python's int-from-text limit
    "/log/0/tile/entries/" + "x999/" * 1500 + "999",
    "/log/0/tile/" + "9" * 5000 + "/000",
    "/log/0/tile/0/000.p/" + "1" * 5000,
    "/log/99999999999999999999/checkpoint",
    "/log/0/tile/1/" + "x000/" * 20 + "000",
]


@pytest.mark.parametrize("path", _EXPENSIVE, ids=range(len(_EXPENSIVE)))
def test_an_expensive_tile_path_is_a_quick_4xx(log: Query, path: str) -> None:
    started = time.monotonic()
    answer = log.get(path, log.regulator_token)
    elapsed = time.monotonic() - started
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert elapsed < 1.0
