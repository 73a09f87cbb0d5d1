"""GB/T 2260 region codes: which regions lie within which (province ⊃ city ⊃ county)."""

from __future__ import annotations


def region_within(region: str | None, scope: str | None) -> bool:
    """Whether ``region`` lies in ``scope``; every region lies in no scope (``None``).

    ``330000`` (a province) holds every ``33xxxx``; ``330100`` (a city) every ``3301xx``; any
    other code holds only itself.
    """
    if scope is None:
        return True
    if region is None:
        return False
    if scope.endswith("0000"):
        return region[:2] == scope[:2]
    if scope.endswith("00"):
        return region[:4] == scope[:4]
    return region == scope
