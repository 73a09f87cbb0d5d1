"""Errors the capture API answers with: 4xx (or 503) JSON naming the field and the rule (design §8).

:class:`ApiError` is a plain exception so that the request logic raises it without knowing the
web framework; ``api.py`` turns it into a response of the :class:`~._models.ErrorOut` shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from suyuan.errors import InvalidInputError, shorten

#: Field paths are echoed back shortened (an unknown field's name may be anything).
MAX_FIELD_SHOWN = 256
_UNREADABLE = frozenset({"undecodable", "unknown_schema", "invalid_json"})


@dataclass(eq=False)
class ApiError(Exception):
    """A request refused as a whole: nothing of it was taken."""

    status: int
    reason: str
    rule: str
    field: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.reason}: {self.rule}")

    @classmethod
    def from_input(cls, err: InvalidInputError, *, field: str | None = None) -> ApiError:
        """400 for bytes that are not the announced format, 422 for a rule broken."""
        status = 400 if err.reason in _UNREADABLE else 422
        return cls(status, err.reason, err.rule, field or err.field, err.value)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "reason": self.reason,
            "field": shorten_field(self.field),
            "rule": self.rule,
            "value": self.value,
        }


def shorten_field(field: str | None) -> str | None:
    return None if field is None else shorten(field, MAX_FIELD_SHOWN)
