"""The demo story (design.md §9): a small, realistic farm-to-table province in 杭州 as signed
messages for a ledger (:mod:`suyuan_demo.story`). ``suyuan demo`` loads it and serves it."""

from __future__ import annotations

from suyuan_demo.story import (
    DEMO_PSEUDONYM_SECRET,
    DemoData,
    LotMaker,
    build_demo,
    bulk_messages,
    demo_pseudonym,
    vegetable_certificate,
)

__all__ = [
    "DEMO_PSEUDONYM_SECRET",
    "DemoData",
    "LotMaker",
    "build_demo",
    "bulk_messages",
    "demo_pseudonym",
    "vegetable_certificate",
]
