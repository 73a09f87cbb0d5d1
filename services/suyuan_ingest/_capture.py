"""``POST /v1/events`` without the web framework (design.md §5, §8; ``docs/http-ingest.md``).

Two ways in, one way out (the :class:`~suyuan.transport.Transport`):

- **JSON** (``application/json``): one event or a list in the form of ``docs/events.md``. Each
  event is read and checked here (shape, content rules, actor = the token's organisation); the
  good ones are signed as *one* batch with the organisation's custodial key and submitted; each
  bad one is answered and recorded as a rejection. A bad event never stops the good ones.
- **Avro** (``application/vnd.suyuan.batch+avro``): a batch the client signed itself
  (``encode_batch``), submitted byte for byte. A batch is signed as a whole, so it is taken or
  refused as a whole when it cannot be read or speaks for another organisation.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from suyuan.custody import CustodyError, NoCustodialKeyError, load_custodial_key
from suyuan.errors import InvalidInputError, UnauthorisedError, WrongSignerError
from suyuan.events import (
    decode_batch,
    decode_event,
    encode_batch,
    encode_event,
    event_from_json,
    validate_event,
)
from suyuan.events.model import TRUST_EVENT_TYPES, Event
from suyuan.ledger import Rejection
from suyuan.places import gln_entries
from suyuan.signing import SigningKey, sign_batch
from suyuan.transport import (
    EventOutcome,
    EventStatus,
    SubmitResult,
    Transport,
    TransportError,
)
from suyuan_http import ApiError

JSON_TYPE = "application/json"
BATCH_TYPE = "application/vnd.suyuan.batch+avro"
_MAX_EVENT_ID = 64

log = logging.getLogger("suyuan.ingest")
T = TypeVar("T")


@dataclass(frozen=True)
class Custody:
    """The custody master key, or why custodial signing is unavailable."""

    master: bytes | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class _Refused:
    """A JSON event refused before signing, at ``index`` in the request."""

    index: int
    event_id: str | None
    error: InvalidInputError

    def outcome(self) -> EventOutcome:
        return EventOutcome(
            message=0,
            index=self.index,
            event_id=self.event_id,
            status=EventStatus.REJECTED,
            reason=self.error.reason,
            field=self.error.field,
            rule=self.error.rule,
            problems=self.error.problems(),
        )

    def rejection(self, organisation: str, source: str) -> Rejection:
        # No raw bytes: the producer holds the event, and a refused one may carry personal data.
        return Rejection(
            source=f"{source} body[{self.index}]",
            reason=self.error.reason,
            rule=self.error.rule,
            field=self.error.field,
            event_id=self.event_id,
            actor=organisation,
            raw=None,
        )


@dataclass(frozen=True)
class Capture:
    """Takes the body of one ``POST /v1/events`` for one organisation."""

    engine: Engine
    transport: Transport
    custody: Custody
    max_events: int

    def submit(self, organisation: str, media_type: str, body: bytes) -> SubmitResult:
        """Outcomes in request order (JSON) or batch order (Avro).

        Raises:
            ApiError: the request as a whole is refused (4xx), or cannot be taken now (503).
        """
        source = f"http:{secrets.token_hex(6)}"
        if media_type == JSON_TYPE:
            return self._submit_json(organisation, body, source)
        if media_type == BATCH_TYPE:
            return self._submit_batch(organisation, body, source)
        raise ApiError(
            415,
            "unsupported_media_type",
            f"must be {JSON_TYPE} or {BATCH_TYPE}",
            field="Content-Type",
            value=media_type or None,
        )

    # --- JSON, signed here ----------------------------------------------------------------------

    def _submit_json(self, organisation: str, body: bytes, source: str) -> SubmitResult:
        return self.submit_events(organisation, self._json_items(body), source)

    def submit_events(
        self,
        organisation: str,
        items: list[Any],
        source: str,
        indices: list[int] | None = None,
    ) -> SubmitResult:
        """Events in JSON form (already parsed), each checked, the good ones signed with the
        organisation's custodial key as one batch: the one way JSON events enter the ledger
        (``POST /v1/events`` and EPCIS capture). Outcomes in the order of ``items``, each with
        its item's position in the request (``indices``, default 0, 1, …).

        Raises:
            ApiError: no custodial key (409) or signing or the ledger unavailable (503).
        """
        others = _others_glns(self.engine, _named_glns(items), organisation)
        good, refused = _check_items(items, organisation, indices, others)
        return self._submit_checked(organisation, good, refused, source)

    def submit_event(self, organisation: str, event: Event) -> SubmitResult:
        """One event the service built itself (a certificate drafted from a form): checked,
        signed and submitted exactly as its JSON form would be by :meth:`submit_events`, without
        the round trip through JSON. One outcome, index 0.

        Raises:
            ApiError: no custodial key (409) or signing or the ledger unavailable (503).
        """
        source = f"http:{secrets.token_hex(6)}"
        named = {event.location.gln} if event.location and event.location.gln else set()
        others = _others_glns(self.engine, named, organisation)
        try:
            good, refused = [(0, _checked(event, organisation, others))], []
        except InvalidInputError as err:
            good, refused = [], [_Refused(0, _short_id(event.event_id), err)]
        return self._submit_checked(organisation, good, refused, source)

    def _submit_checked(
        self,
        organisation: str,
        good: list[tuple[int, bytes]],
        refused: list[_Refused],
        source: str,
    ) -> SubmitResult:
        """Sign the good events as one batch and submit it; record the refused ones."""
        outcomes = [r.outcome() for r in refused]
        committed = True
        if good:
            signed = self._sign(organisation, [data for _, data in good])
            result = _transport_call(
                lambda: self.transport.submit([signed], key=organisation, source=source)
            )
            committed = result.committed
            positions = [index for index, _ in good]
            outcomes.extend(_at_request_index(o, positions) for o in result.outcomes)
        if refused:
            rejections = [r.rejection(organisation, source) for r in refused]
            _transport_call(lambda: self.transport.reject(rejections))
        outcomes.sort(key=lambda o: o.index if o.index is not None else -1)
        return SubmitResult(tuple(outcomes), committed)

    def _json_items(self, body: bytes) -> list[Any]:
        data = parse_json(body)
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else None
        if items is None:
            raise ApiError(
                422,
                "invalid_event",
                "must be an event (JSON object) or a list of events",
                field="body",
                value=type(data).__name__,
            )
        if not items:
            raise ApiError(422, "invalid_event", "must hold at least one event", field="body")
        if len(items) > self.max_events:
            raise ApiError(
                413,
                "too_many_events",
                f"at most {self.max_events} events per request",
                field="body",
                value=str(len(items)),
            )
        return items

    def _sign(self, organisation: str, events: list[bytes]) -> bytes:
        key = self._custodial_key(organisation)
        try:
            return encode_batch(sign_batch(key, events))
        except InvalidInputError as err:  # over the batch size limit
            raise ApiError(413, "too_large", err.rule, field="body") from None

    def _custodial_key(self, organisation: str) -> SigningKey:
        if self.custody.master is None:
            raise ApiError(
                503,
                "custody_unavailable",
                f"custodial signing is not configured here ({self.custody.problem}); "
                f"send client-signed batches ({BATCH_TYPE})",
            )
        try:
            return load_custodial_key(self.engine, self.custody.master, organisation)
        except NoCustodialKeyError:
            raise ApiError(
                409,
                "no_custodial_key",
                f"organisation {organisation} has no custodial signing key: send client-signed "
                f"batches ({BATCH_TYPE}) or ask the operator for a custodial key",
                field="actor",
            ) from None
        except CustodyError as err:
            log.error("custodial signing failed: %s", err)
            raise ApiError(503, "custody_unavailable", "custodial signing is unavailable") from None

    # --- Avro, signed by the client -----------------------------------------------------------

    def _submit_batch(self, organisation: str, body: bytes, source: str) -> SubmitResult:
        try:
            batch = decode_batch(body)
        except InvalidInputError as err:
            raise ApiError.from_input(err, field="body") from None
        for index, data in enumerate(batch.events):
            try:
                event = decode_event(data)
            except InvalidInputError as err:
                raise ApiError.from_input(err, field=f"events[{index}]") from None
            if event.event_type in TRUST_EVENT_TYPES:
                raise ApiError.from_input(
                    _trust_refused(event), field=f"events[{index}].event_type"
                )
            if event.actor != organisation:
                raise ApiError(
                    422,
                    WrongSignerError.reason,
                    f"must be the token's organisation {organisation}",
                    field=f"events[{index}].actor",
                    value=event.actor,
                )
        return _transport_call(
            lambda: self.transport.submit([body], key=organisation, source=source)
        )


def _transport_call(call: Callable[[], T]) -> T:
    try:
        return call()
    except TransportError as err:
        log.error("transport failed: %s", err)
        raise ApiError(
            503, "unavailable", "the ledger cannot take events right now; retry later"
        ) from None


def parse_json(body: bytes) -> Any:
    """The JSON value of a UTF-8 body.

    Raises:
        ApiError: 400 ``invalid_json`` naming ``body``: not UTF-8, not JSON, NaN/Infinity,
            nested too deeply.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ApiError(
            400, "invalid_json", f"must be UTF-8 (invalid byte at offset {err.start})", "body"
        ) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        rule = f"not JSON: {err.msg} at line {err.lineno} column {err.colno}"
        raise ApiError(400, "invalid_json", rule, "body") from None
    except (ValueError, RecursionError) as err:
        raise ApiError(400, "invalid_json", f"not acceptable JSON: {err}", "body") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _named_glns(items: list[Any]) -> set[str]:
    """The GLNs JSON items give as their place."""
    return {
        str(item["location"]["gln"])
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("location"), dict)
        and item["location"].get("gln")
    }


def _others_glns(engine: Engine, named: set[str], organisation: str) -> frozenset[str]:
    """Those of the GLNs ``named`` as places that are registered to another organisation."""
    if not named:
        return frozenset()
    entries = gln_entries(engine, named)
    return frozenset(g for g, e in entries.items() if e.organisation != organisation)


def _check_items(
    items: list[Any],
    organisation: str,
    indices: list[int] | None = None,
    others: frozenset[str] = frozenset(),
) -> tuple[list[tuple[int, bytes]], list[_Refused]]:
    """(request index, encoded event) of every good item, and every refused one; an event at a
    place whose GLN is in ``others`` (another organisation's) is refused."""
    good: list[tuple[int, bytes]] = []
    refused: list[_Refused] = []
    for index, item in zip(indices or range(len(items)), items, strict=True):
        try:
            good.append((index, _checked(_event_of(item), organisation, others)))
        except InvalidInputError as err:
            refused.append(_Refused(index, _event_id_of(item), err))
    return good, refused


def _event_of(item: Any) -> Event:
    if not isinstance(item, dict):
        raise InvalidInputError("event", type(item).__name__, "must be a JSON object")
    return event_from_json(item)


def _checked(event: Event, organisation: str, others: frozenset[str] = frozenset()) -> bytes:
    """The encoded event, if the organisation may send it through this API and its content
    passes the rules.

    Raises:
        InvalidInputError: another organisation's place (its GLN is in ``others``), a trust
            event, another actor, or every content rule it breaks.
    """
    if event.location is not None and event.location.gln in others:
        raise UnauthorisedError(
            "location.gln",
            event.location.gln,
            "another organisation's place (docs/epcis.md, Places and parties): an event is "
            "recorded only at the organisation's own places",
        )
    if event.event_type in TRUST_EVENT_TYPES:
        raise _trust_refused(event)
    if event.actor != organisation:
        raise WrongSignerError(
            "actor", event.actor, f"must be the token's organisation {organisation}"
        )
    validate_event(event)
    return encode_event(event)


def _trust_refused(event: Event) -> WrongSignerError:
    # Trust events are the regulator's, signed with a root key and published to the trust topic
    # (docs/ledger.md, "Trust order"); taking them here would let any organisation move the
    # trust topic's end, which every worker waits for.
    return WrongSignerError(
        "event_type",
        event.event_type,
        "trust events are signed with a regulator root key and published to the trust topic "
        "(suyuan publish); the capture API does not take them",
    )


def _event_id_of(item: Any) -> str | None:
    event_id = item.get("event_id") if isinstance(item, dict) else None
    return _short_id(event_id) if isinstance(event_id, str) else None


def _short_id(event_id: str) -> str | None:
    """An id fit to record with a rejection (an over-long one is not kept)."""
    return event_id if len(event_id) <= _MAX_EVENT_ID else None


def _at_request_index(outcome: EventOutcome, positions: list[int]) -> EventOutcome:
    """An outcome of the signed batch, renumbered to the event's position in the request."""
    index = positions[outcome.index] if outcome.index is not None else None
    return EventOutcome(
        message=0,
        index=index,
        event_id=outcome.event_id,
        status=outcome.status,
        reason=outcome.reason,
        field=outcome.field,
        rule=outcome.rule,
        problems=outcome.problems,
    )
