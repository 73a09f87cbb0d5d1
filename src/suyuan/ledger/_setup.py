"""The ledger's fixed configuration, stored in the database at ``suyuan ledger init``: the
checkpoint verifier key and the regulator root keys. Auditors may pass their own copies."""

from __future__ import annotations

import json

from suyuan.ledger._interface import LedgerError, LedgerStore
from suyuan.signing import RootKey, VerifyKey
from suyuan.tlog import NoteVerifier

LEDGER_VERIFIER = "ledger_verifier"
ROOT_KEYS = "root_keys"


def initialise(store: LedgerStore, verifier: NoteVerifier, roots: list[RootKey]) -> None:
    """Record the ledger key and root keys; idempotent for the same values.

    Raises:
        LedgerError: the ledger was initialised with other keys.
    """
    wanted = {LEDGER_VERIFIER: verifier.to_key(), ROOT_KEYS: _roots_json(roots)}
    for name, value in wanted.items():
        stored = store.get_meta(name)
        if stored is not None and stored != value:
            raise LedgerError(f"ledger already initialised with another {name.replace('_', ' ')}")
    for name, value in wanted.items():
        store.set_meta(name, value)


def ledger_verifier(store: LedgerStore) -> NoteVerifier:
    """The checkpoint verifier recorded at init. Raises: LedgerError if not initialised."""
    return NoteVerifier.from_key(_required(store, LEDGER_VERIFIER))


def root_keys(store: LedgerStore) -> list[RootKey]:
    """The regulator root keys recorded at init. Raises: LedgerError if not initialised."""
    return [
        RootKey(VerifyKey.from_raw(bytes.fromhex(item["public_key"])), item["organisation"])
        for item in json.loads(_required(store, ROOT_KEYS))
    ]


def _required(store: LedgerStore, name: str) -> str:
    value = store.get_meta(name)
    if value is None:
        raise LedgerError("ledger is not initialised: run `suyuan ledger init` first")
    return value


def _roots_json(roots: list[RootKey]) -> str:
    return json.dumps(
        [{"organisation": r.organisation, "public_key": r.verify_key.raw.hex()} for r in roots],
        sort_keys=True,
    )
