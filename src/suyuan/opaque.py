"""Opaque values handed to a client and read back: list cursors and page tokens.

A value is compact JSON in unpadded base64url, so it travels in a query string as it is. What
comes back is untrusted: :func:`unpack` turns every way it can be malformed — not base64, not
UTF-8 JSON, or JSON nested so deep that reading it would exhaust the stack — into one
``ValueError``, so each list only has to say which field it was.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def pack(value: Any) -> str:
    """``value`` as compact JSON in unpadded base64url."""
    body = json.dumps(value, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def unpack(text: str) -> Any:
    """The value :func:`pack` made.

    Raises:
        ValueError: ``text`` is not one (bad base64, bad JSON, or JSON nested too deep).
    """
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"not a packed value: {type(err).__name__}") from None
