"""The HTTP JSON form of an event (design.md §4, §8; documented in ``docs/events.md``).

``{"event_id", "event_type", "occurred_at", "actor", "location", "codes", "quantity", "unit",
"biz_step", "disposition", "payload"}``: timestamps are RFC 3339 with offset, decimals are strings,
bytes are base64, enums are their symbol strings. Unknown fields are refused by name; a missing
required field is reported by its path, e.g. ``payload.product_name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suyuan.errors import EventValidationError
from suyuan.events._codec import Codec, default_codec
from suyuan.events.model import Event


def event_from_json(obj: Mapping[str, Any], *, codec: Codec | None = None) -> Event:
    """Build an Event from its JSON form (as parsed by ``json.loads``).

    Only the shape is checked here (fields, types, formats of timestamps, decimals, dates, base64
    and enum symbols); call :func:`~suyuan.events.validate_event` for the content rules.

    Raises:
        EventValidationError: naming the unknown, missing or ill-typed field and the rule; every
            such field at once as :class:`~suyuan.errors.MultipleInputError` when there are several.
    """
    shape = (codec or default_codec()).shape
    return shape.event_from_datum(shape.datum_from_json(obj), EventValidationError)


def event_to_json(event: Event, *, codec: Codec | None = None) -> dict[str, Any]:
    """The JSON form of ``event``: a dict ready for ``json.dumps``.

    Raises:
        EventValidationError: a field of ``event`` does not fit the schema (named by its path).
    """
    shape = (codec or default_codec()).shape
    return shape.json_from_datum(shape.datum_from_event(event))
