"""docs/authority.md and ``suyuan.authority`` say the same thing, and cover every schema."""

from __future__ import annotations

import json
from pathlib import Path

from suyuan.authority import HANDLERS, ROLES, ROOT_KEY, RULES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "authority.md"


def _table(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table under ``heading``, header left out."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[2:]  # header and separator


def _roles(cell: str) -> frozenset[str]:
    if cell == ROOT_KEY:
        return frozenset()
    roles: set[str] = set()
    for part in cell.split(", "):
        if part.startswith("handlers"):
            left_out = part.split(" − ")[1:]
            roles |= HANDLERS - set(left_out)
        else:
            roles.add(part)
    return frozenset(roles)


def test_every_event_type_of_the_schemas_has_a_rule() -> None:
    envelope = json.loads((ROOT / "schemas" / "suyuan.v1.Event.avsc").read_text())
    [payload] = [f for f in envelope["fields"] if f["name"] == "payload"]
    assert set(payload["type"]) == set(RULES)


def test_the_roles_are_those_of_the_schema() -> None:
    enum = json.loads((ROOT / "schemas" / "suyuan.v1.OrgRole.avsc").read_text())
    assert list(ROLES) == enum["symbols"]
    assert {row[0]: row[1] for row in _table("## Roles")} == dict(ROLES)


def test_the_table_is_the_rules() -> None:
    rows = _table("## The rules")
    assert [row[0] for row in rows] == list(RULES)
    for event_type, roles, goods, source, reasons in rows:
        rule = RULES[event_type]
        assert _roles(roles) == rule.roles, event_type
        assert goods == rule.goods, event_type
        assert source == rule.source, event_type
        assert tuple(reasons.split(", ")) == rule.reasons, event_type
