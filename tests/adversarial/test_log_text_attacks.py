"""Text a hostile log (or anyone handing over a receipt) gives a monitor or a verifier: a number
of thousands of digits must be refused as malformed, not crash the reader with Python's
int-from-text limit (a ValueError no caller expects)."""

from __future__ import annotations

import base64

import pytest

from suyuan.tlog import RECEIPT_HEADER, Checkpoint, CheckpointError, Receipt, ReceiptError

_ROOT = base64.b64encode(b"\1" * 32).decode()


@pytest.mark.parametrize("size", ["9" * 5000, str(2**64)])
def test_a_checkpoint_size_of_thousands_of_digits_is_a_checkpoint_error(size: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"example.org/log\n{size}\n{_ROOT}\n")


@pytest.mark.parametrize("index", ["9" * 5000, str(2**64)])
def test_a_receipt_index_of_thousands_of_digits_is_a_receipt_error(index: str) -> None:
    with pytest.raises(ReceiptError):
        Receipt.parse(f"{RECEIPT_HEADER}\nindex {index}\n\nexample.org/log\n1\n{_ROOT}\n")
