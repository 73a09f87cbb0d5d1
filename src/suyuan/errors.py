"""Every error Suyuan raises, in one tree.

::

    SuyuanError
    ├── InvalidInputError            bad input; carries field, value (shortened) and rule
    │   ├── CodeError                a trace code, USCC or scan URL breaks a rule (design.md §3)
    │   ├── DecodeError              bytes are not a Suyuan event or batch
    │   │   └── UnknownSchemaError   the fingerprint names no schema we know
    │   ├── EventValidationError     an event's content breaks a rule of the contract (design.md §4)
    │   │   ├── MissingReferenceError   it refers to an event the ledger does not hold (yet)
    │   │   └── MultipleInputError   several rules broken at once, each one in ``errors``
    │   ├── IdConflictError          an event id is taken by an event with other content
    │   ├── OversizedMessageError    a message is larger than the write path takes (suyuan.intake)
    │   ├── WrongTopicError          a trust event off the trust topic, or the reverse (intake)
    │   ├── ProofError               a Merkle proof, root, size or index is wrong (suyuan.merkle)
    │   ├── NoteError                a signed note or note key is malformed (suyuan.tlog)
    │   ├── CheckpointError          a checkpoint is malformed / of another origin (suyuan.tlog)
    │   ├── ReceiptError             a tlog-proof receipt is malformed (suyuan.tlog)
    │   ├── TileError                a tlog-tiles path is not canonical (suyuan.tlog)
    │   ├── QrError                  a signed-QR value or key list is malformed (suyuan.qrsign)
    │   ├── QueryParameterError      EPCIS query parameters we refuse, all named (suyuan.epcis)
    │   ├── UnsupportedFeatureError  an EPCIS member or event with no mapping (suyuan.epcis)
    │   ├── CaptureDocumentError     an EPCIS document capture refuses, every problem (suyuan.epcis)
    │   ├── UnknownGlnError          a place or party GLN no organisation registered (suyuan.epcis)
    │   ├── GlnTakenError            a GLN registered to another organisation (suyuan.places)
    │   ├── UnauthorisedError        the actor's roles do not allow the event (suyuan.authority)
    │   │   └── NotInCustodyError    the actor does not hold the goods the event is about
    │   │       └── UnheldGoodsError   nobody holds them yet (only while other partitions may
    │   │                              still hand them over; never a final rejection)
    │   ├── UnknownRecallError       a recall follow-up names no known recall
    │   ├── UnknownRootCodeError     a recall names a code the ledger does not hold (suyuan.recall)
    │   ├── NotAHolderError          an acknowledgement by an organisation out of scope (recall)
    │   ├── NotReconciledError       a recall closed with accounts open, without override (recall)
    │   ├── ExportFormatError        an export ``format`` we do not write (suyuan.exports)
    │   └── SignatureError           a signature does not verify (design.md §5)
    │       ├── UnknownKeyError      no registered key has this key id
    │       ├── RevokedKeyError      the key was revoked before the event was signed
    │       ├── WrongSignerError     the key belongs to another organisation / lacks the role
    │       ├── QrSignatureError     a signed QR's signature fails (suyuan.qrsign)
    │       ├── QuorumError          too few trusted witnesses cosigned a checkpoint (tlog)
    │       └── NoteSignatureError   a trusted key's signature on a note fails (suyuan.tlog)
    │           └── UnverifiedNoteError   no signature by a trusted key at all
    ├── AuthError                    an API token is unknown, revoked or malformed (suyuan.auth)
    ├── CustodyError                 a custodial key cannot be made or opened (suyuan.custody)
    │   └── NoCustodialKeyError      the organisation has none
    ├── RecallError                  a recall cannot be done as asked (suyuan.recall)
    │   ├── RecallNotFoundError      no recall has this id
    │   ├── RecallRefusedError       the caller may not start, close or answer it
    │   └── RecallClosedError        it is closed already
    ├── LedgerError                  the ledger refused an operation or is inconsistent
    │   ├── StaleWriterError         a writer lost its compare-and-set (another took the shard)
    │   └── EntryNotFoundError       no entry at that id / position (or not checkpointed yet)
    ├── MessageDeferredError         a message waits for events of other partitions (intake)
    ├── TransportError               an event could not be handed to the ledger (suyuan.transport)
    ├── FetchError                   a monitor could not fetch a log resource (suyuan.monitor)
    ├── WitnessRefusedError          a witness will not cosign; carries the HTTP status (witness)
    ├── ApiCallError                 a call to the HTTP API failed (suyuan.client)
    ├── KeyFileError                 a key file cannot be read or written
    └── SchemaFileError              a schema file in schemas/ is missing or broken (suyuan.events)

A test (tests/unit/test_errors_tree.py) keeps this tree equal to the classes the code defines.

Errors of a subsystem are defined beside it (e.g. ``suyuan.merkle.ProofError``) and listed here.
Input errors are meant to be shown to the producer who sent the input: ``str(err)`` reads
``field: rule (got 'value')`` and :meth:`InvalidInputError.as_dict` gives the machine-readable form
used in HTTP answers and in the rejections store. Where a check can go on past a broken rule
(the field checks of an event, a certificate draft) it reports every one at once:
:class:`MultipleInputError` carries them, and :meth:`InvalidInputError.problems` lists the
problems of any input error alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_MAX_SHOWN = 60


def shorten(value: object, limit: int = _MAX_SHOWN) -> str:
    """``repr``-free short text of a value, safe to echo back to a caller."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = raw[: limit // 2].hex()
        return text + ("…" if len(raw) > limit // 2 else "") + f" ({len(raw)} bytes)"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SuyuanError(Exception):
    """Base of every error raised by Suyuan."""


class InvalidInputError(SuyuanError, ValueError):
    """Input breaks a rule. Names the field, the (shortened) value and the rule."""

    #: Stable machine-readable reason, used as the rejection reason.
    reason: str = "invalid_input"
    #: The rule found something missing that events on other Kafka partitions may still bring
    #: (a cited certificate, goods shipped to the actor, a recall): the ingest worker judges the
    #: event again once they had the chance to arrive (docs/runbook.md).
    may_arrive_later: bool = False

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = shorten(value)
        self.rule = rule
        super().__init__(f"{field}: {rule} (got {self.value!r})")

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "field": self.field, "value": self.value, "rule": self.rule}

    def problems(self) -> tuple[InvalidInputError, ...]:
        """Every rule this error reports broken: itself, or a :class:`MultipleInputError`'s."""
        return (self,)


class CodeError(InvalidInputError):
    """A trace code, USCC, or scan URL breaks a rule of design.md §3."""

    reason = "invalid_code"


class DecodeError(InvalidInputError):
    """Bytes are not a well-formed Suyuan message."""

    reason = "undecodable"


class UnknownSchemaError(DecodeError):
    """The single-object header names a schema fingerprint we do not know."""

    reason = "unknown_schema"


class EventValidationError(InvalidInputError):
    """An event's content breaks a rule of the event contract."""

    reason = "invalid_event"


class MissingReferenceError(EventValidationError):
    """An event refers to another one (a certificate, an inspection …) the ledger does not hold.

    Over Kafka the other event may sit on a partition not consumed that far yet: the ingest
    worker judges the event again once every partition holds what was produced before it
    (docs/runbook.md), and refuses it only then.
    """

    may_arrive_later = True


class MultipleInputError(EventValidationError):
    """Several rules broken by one input, every one in ``errors`` (at least two).

    ``reason``, ``field``, ``value`` and ``rule`` are the first's, so a caller that reads one
    error reads the first; ``str()`` names them all.
    """

    def __init__(self, errors: Sequence[InvalidInputError]) -> None:
        flat = tuple(one for err in errors for one in err.problems())
        if len(flat) < 2:
            raise ValueError("MultipleInputError holds at least two errors; raise the one instead")
        first = flat[0]
        super().__init__(first.field, first.value, first.rule)
        self.value = first.value  # already shortened: not shortened twice
        self.errors = flat
        self.reason = first.reason
        self.may_arrive_later = all(err.may_arrive_later for err in flat)
        self.args = ("; ".join(str(err) for err in flat),)

    def problems(self) -> tuple[InvalidInputError, ...]:
        return self.errors


def raise_errors(errors: Sequence[InvalidInputError]) -> None:
    """Raise what ``errors`` hold: nothing when empty, the one error, or a
    :class:`MultipleInputError`.

    Raises:
        InvalidInputError: the only error of ``errors``.
        MultipleInputError: two or more.
    """
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MultipleInputError(errors)


class IdConflictError(InvalidInputError):
    """An event's id is already taken by an event with other content (an id names one event)."""

    reason = "id_conflict"


class SignatureError(InvalidInputError):
    """A signature does not verify."""

    reason = "bad_signature"


class UnknownKeyError(SignatureError):
    """No registered key has this key id."""

    reason = "unknown_key"


class RevokedKeyError(SignatureError):
    """The signing key was revoked."""

    reason = "revoked_key"


class WrongSignerError(SignatureError):
    """The key is valid but belongs to another organisation or lacks the needed role."""

    reason = "wrong_signer"


class UnauthorisedError(InvalidInputError):
    """The actor may not emit this event: it lacks the role, or the goods are not its own
    (``docs/authority.md``)."""

    reason = "unauthorised"


class NotInCustodyError(UnauthorisedError):
    """The event needs the actor to hold the goods, and it does not."""

    reason = "not_in_custody"
    may_arrive_later = True  # the goods may be shipped to the actor on another partition


class UnheldGoodsError(NotInCustodyError):
    """Nobody holds the goods yet, and events handing them over may still arrive from other
    Kafka partitions: the worker judges the event again later (then its actor may take them)."""


class UnknownRecallError(InvalidInputError):
    """A recall acknowledgement or closure names a recall the ledger does not hold."""

    reason = "unknown_recall"
    may_arrive_later = True  # the recall may be on the regulator's partition


class KeyFileError(SuyuanError):
    """A key file cannot be read, parsed or written."""
