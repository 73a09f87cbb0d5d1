"""The trust chain: which key may sign for which organisation (design.md §5; ``docs/signing.md``).

Regulator **root keys** are configured, never learnt from events. They sign only the trust
events — organisation registered, signing key registered, signing key revoked — and each such
event's ``actor`` is the root key's organisation. Every other event is signed by a key that a
trust event registered for the event's actor, and that was not revoked before the batch.

State is plain in-memory maps. It is never saved: the ledger rebuilds it by replaying the trust
events in ledger order (:meth:`TrustStore.replay`), so the store always agrees with the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from suyuan.errors import (
    EventValidationError,
    InvalidInputError,
    RevokedKeyError,
    UnknownKeyError,
    WrongSignerError,
)
from suyuan.events.model import (
    ORGANISATION_REGISTERED,
    SIGNING_KEY_REGISTERED,
    SIGNING_KEY_REVOKED,
    TRUST_EVENT_TYPES,
    Event,
    SignedBatch,
)
from suyuan.signing._batch import verify_batch_signature
from suyuan.signing._keys import VerifyKey


@dataclass(frozen=True, slots=True)
class RootKey:
    """A regulator's root key; ``organisation`` is the regulator's USCC."""

    verify_key: VerifyKey
    organisation: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as last registered by an ``OrganisationRegistered`` event."""

    uscc: str
    name: str
    roles: tuple[str, ...]
    region_code: str


@dataclass(frozen=True, slots=True)
class _RegisteredKey:
    verify_key: VerifyKey
    organisation: str


class TrustStore:
    """Registered organisations and signing keys, anchored in configured root keys.

    Use :meth:`check_batch` before a batch enters the ledger, then :meth:`apply` each of its trust
    events in order. A batch is checked against the state *before* it: a key registered inside a
    batch signs only later batches, and a key revoked in an earlier batch rejects later ones.
    """

    def __init__(self, roots: Iterable[RootKey]) -> None:
        """Trust ``roots``.

        Raises:
            ValueError: no root key, or one key given for two organisations.
        """
        self._roots: dict[str, RootKey] = {}
        for root in roots:
            known = self._roots.get(root.verify_key.key_id)
            if known is not None and known.organisation != root.organisation:
                raise ValueError(
                    f"root key {root.verify_key.key_id} is given for both "
                    f"{known.organisation} and {root.organisation}"
                )
            self._roots[root.verify_key.key_id] = root
        if not self._roots:
            raise ValueError("a trust store needs at least one regulator root key")
        self._root_organisations = frozenset(root.organisation for root in self._roots.values())
        self._organisations: dict[str, Organisation] = {}
        self._keys: dict[str, _RegisteredKey] = {}
        self._revocations: dict[str, str] = {}  # key id → reason

    @classmethod
    def replay(cls, roots: Iterable[RootKey], events: Iterable[Event]) -> TrustStore:
        """Rebuild the store from ledger events in ledger order; non-trust events are skipped.

        Raises:
            EventValidationError, WrongSignerError: a trust event cannot be applied (the ledger
                only holds applicable ones, so this means the ledger is not the one checked).
        """
        store = cls(roots)
        for event in events:
            if event.event_type in TRUST_EVENT_TYPES:
                store.apply(event)
        return store

    # --- queries -------------------------------------------------------------------------------

    def key_for(self, key_id: str) -> VerifyKey:
        """The public key with this id: a root key or a registered one (revoked keys included,
        so entries signed before a revocation still verify in an audit).

        Raises:
            UnknownKeyError: no root or registered key has this id (field ``key_id``).
        """
        root = self._roots.get(key_id)
        if root is not None:
            return root.verify_key
        return self._registered(key_id).verify_key

    def organisation_of(self, key_id: str) -> str:
        """The USCC of the organisation the key signs for.

        Raises:
            UnknownKeyError: no root or registered key has this id (field ``key_id``).
        """
        root = self._roots.get(key_id)
        if root is not None:
            return root.organisation
        return self._registered(key_id).organisation

    def is_revoked(self, key_id: str) -> bool:
        """Whether a trust event revoked this key (false for unknown keys)."""
        return key_id in self._revocations

    def revocation_reason(self, key_id: str) -> str | None:
        """The reason given when the key was revoked, or ``None`` if it is not revoked."""
        return self._revocations.get(key_id)

    def is_root(self, key_id: str) -> bool:
        """Whether this is a configured regulator root key."""
        return key_id in self._roots

    def organisation(self, uscc: str) -> Organisation | None:
        """The registered organisation with this USCC, or ``None``."""
        return self._organisations.get(uscc)

    def organisations(self) -> list[Organisation]:
        """Every registered organisation, in order of first registration."""
        return list(self._organisations.values())

    # --- checking a batch ----------------------------------------------------------------------

    def check_batch(self, batch: SignedBatch, events: Sequence[Event]) -> None:
        """Check that ``batch`` may enter the ledger now; ``events`` are its decoded events.

        Order of checks: the key is known, not revoked, the signature verifies, then every event
        is one its signer may sign.

        Raises:
            UnknownKeyError: no root or registered key has ``batch.key_id`` (field ``key_id``).
            RevokedKeyError: the key was revoked (field ``key_id``).
            SignatureError: the signature does not verify (field ``signature``).
            WrongSignerError: an event's actor is not the key's organisation (``events[i].actor``);
                a trust event not signed by a root key, or another event signed by a root key
                (``events[i].event_type``).
            ValueError: ``events`` and ``batch.events`` differ in length (a caller bug).
        """
        if len(events) != len(batch.events):
            raise ValueError(
                f"{len(events)} decoded events given for a batch of {len(batch.events)}"
            )
        verify_batch_signature(batch, self.usable_key(batch.key_id))
        for index, event in enumerate(events):
            self.check_signer(batch.key_id, index, event)

    def usable_key(self, key_id: str) -> VerifyKey:
        """The key that may sign a batch now.

        Raises:
            UnknownKeyError: no root or registered key has this id (field ``key_id``).
            RevokedKeyError: the key was revoked (field ``key_id``).
        """
        key = self.key_for(key_id)
        reason = self._revocations.get(key_id)
        if reason is not None:
            raise RevokedKeyError("key_id", key_id, f"key was revoked ({reason})")
        return key

    def check_signer(self, key_id: str, index: int, event: Event) -> None:
        """Check that the (known) key ``key_id`` may sign ``event``, event ``index`` of its batch.

        Raises:
            UnknownKeyError: no root or registered key has this id (field ``key_id``).
            WrongSignerError: the event's actor is not the key's organisation
                (``events[i].actor``); a trust event not signed by a root key, or another event
                signed by a root key (``events[i].event_type``).
        """
        root = self._roots.get(key_id)
        if root is not None:
            if event.event_type not in TRUST_EVENT_TYPES:
                raise WrongSignerError(
                    f"events[{index}].event_type",
                    event.event_type,
                    "a root key signs only trust events; register a signing key for "
                    f"{root.organisation} to sign other events",
                )
            _check_actor(index, event, root.organisation)
            return
        # apply() registers keys only for registered organisations, so the organisation exists.
        organisation = self._registered(key_id).organisation
        if event.event_type in TRUST_EVENT_TYPES:
            raise WrongSignerError(
                f"events[{index}].event_type",
                event.event_type,
                "trust events must be signed by a regulator root key",
            )
        _check_actor(index, event, organisation)

    def _registered(self, key_id: str) -> _RegisteredKey:
        registered = self._keys.get(key_id)
        if registered is None:
            raise UnknownKeyError("key_id", key_id, "no registered or root key has this key id")
        return registered

    # --- applying trust events -----------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Apply one trust event that :meth:`check_batch` accepted. All or nothing: on error the
        store is unchanged.

        ``OrganisationRegistered`` registers or re-registers (replaces name, roles and region of)
        an organisation. ``SigningKeyRegistered`` registers a key for a registered organisation.
        ``SigningKeyRevoked`` revokes a registered key for good.

        Raises:
            EventValidationError: not a trust event (``event_type``); a payload field is missing or
                mistyped; the public key does not hash to ``key_id``; the key is a root key, is
                registered already, or was revoked; the organisation is not registered or does
                not own the key being revoked (fields ``payload.<name>``).
            WrongSignerError: the actor is not a root key's organisation (field ``actor``).
        """
        if event.event_type not in TRUST_EVENT_TYPES:
            raise EventValidationError(
                "event_type", event.event_type, f"not a trust event ({_trust_types()})"
            )
        if event.actor not in self._root_organisations:
            raise WrongSignerError(
                "actor", event.actor, "trust events are made by a root key's organisation"
            )
        if event.event_type == ORGANISATION_REGISTERED:
            self._register_organisation(event.payload)
        elif event.event_type == SIGNING_KEY_REGISTERED:
            self._register_key(event.payload)
        elif event.event_type == SIGNING_KEY_REVOKED:
            self._revoke_key(event.payload)

    def _register_organisation(self, payload: Mapping[str, Any]) -> None:
        organisation = Organisation(
            uscc=_text(payload, "uscc"),
            name=_text(payload, "name"),
            roles=_roles(payload),
            region_code=_text(payload, "region_code"),
        )
        self._organisations[organisation.uscc] = organisation

    def _register_key(self, payload: Mapping[str, Any]) -> None:
        organisation = _text(payload, "organisation")
        key_id = _text(payload, "key_id")
        key = _public_key(payload)
        if key.key_id != key_id:
            raise EventValidationError(
                "payload.key_id",
                key_id,
                f"does not match the public key (its key id is {key.key_id})",
            )
        if organisation not in self._organisations:
            raise EventValidationError("payload.organisation", organisation, "is not registered")
        self._check_key_is_new(key_id)
        self._keys[key_id] = _RegisteredKey(key, organisation)

    def _check_key_is_new(self, key_id: str) -> None:
        if key_id in self._roots:
            raise EventValidationError("payload.key_id", key_id, "is a root key")
        if key_id in self._revocations:
            raise EventValidationError(
                "payload.key_id", key_id, "was revoked and cannot be registered again"
            )
        registered = self._keys.get(key_id)
        if registered is not None:
            raise EventValidationError(
                "payload.key_id", key_id, f"is already registered to {registered.organisation}"
            )

    def _revoke_key(self, payload: Mapping[str, Any]) -> None:
        organisation = _text(payload, "organisation")
        key_id = _text(payload, "key_id")
        reason = _text(payload, "reason")
        registered = self._keys.get(key_id)
        if registered is None:
            raise EventValidationError("payload.key_id", key_id, "no registered key has this id")
        if registered.organisation != organisation:
            raise EventValidationError(
                "payload.organisation",
                organisation,
                f"key {key_id} belongs to {registered.organisation}",
            )
        if key_id in self._revocations:
            raise EventValidationError("payload.key_id", key_id, "is already revoked")
        self._revocations[key_id] = reason


def _check_actor(index: int, event: Event, organisation: str) -> None:
    if event.actor != organisation:
        raise WrongSignerError(
            f"events[{index}].actor",
            event.actor,
            f"the signing key belongs to {organisation}, not to the event's actor",
        )


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise EventValidationError(f"payload.{name}", value, "must be a non-empty string")
    return value


def _roles(payload: Mapping[str, Any]) -> tuple[str, ...]:
    roles = payload.get("roles")
    if (
        not isinstance(roles, tuple | list)
        or not roles
        or not all(isinstance(role, str) and role for role in roles)
    ):
        raise EventValidationError("payload.roles", roles, "must be a non-empty list of role names")
    return tuple(roles)


def _public_key(payload: Mapping[str, Any]) -> VerifyKey:
    raw = payload.get("public_key")
    if not isinstance(raw, bytes):
        raise EventValidationError("payload.public_key", raw, "must be the raw 32-byte public key")
    try:
        return VerifyKey.from_raw(raw)
    except InvalidInputError as err:
        raise EventValidationError("payload.public_key", raw, err.rule) from err


def _trust_types() -> str:
    return ", ".join(sorted(TRUST_EVENT_TYPES))
