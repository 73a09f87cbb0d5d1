"""The exception tree drawn in ``suyuan.errors`` is the tree the code defines: every error class
of the core is in it, under its real base class, and nothing else is."""

from __future__ import annotations

import importlib
import pkgutil
import re

import suyuan
from suyuan.errors import SuyuanError

_LINE = re.compile(r"^(?P<indent>[\s│]*)(?:[├└]── )?(?P<name>[A-Z]\w+Error)\b")


def _drawn() -> dict[str, str | None]:
    """Class name → the name it is drawn under (None for the root)."""
    doc = suyuan.errors.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        if "──" not in line and not line.strip().startswith("SuyuanError"):
            continue  # a description that goes on from the line above
        found = _LINE.match(line)
        assert found, f"cannot read the tree line {line!r}"
        depth = len(line[: found.start("name")]) // 4
        while stack and stack[-1][0] >= depth:
            stack.pop()
        name = found.group("name")
        assert name not in parents, f"{name} is drawn twice"
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def _defined() -> dict[str, str | None]:
    for module in pkgutil.walk_packages(suyuan.__path__, "suyuan."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[str, str | None] = {"SuyuanError": None}
    todo = [SuyuanError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("suyuan."):
                base = next(b for b in sub.__bases__ if issubclass(b, SuyuanError))
                found[sub.__name__] = base.__name__
                todo.append(sub)
    return found


def test_the_drawn_tree_is_the_defined_tree() -> None:
    assert _drawn() == _defined()
