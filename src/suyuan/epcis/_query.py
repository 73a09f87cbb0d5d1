"""The EPCIS 2.0 event query over our events (docs/epcis.md "Query").

Supported parameters of the EPCIS ``SimpleEventQuery``: ``MATCH_epc``, ``MATCH_anyEPC``,
``EQ_bizStep``, ``EQ_bizLocation``, ``GE_eventTime``, ``LT_eventTime``, and the REST binding's
``perPage`` and ``nextPageToken``. A parameter may be repeated or list its values separated by
``|``; values of one parameter are alternatives, parameters all apply. Every query names at least
one code (``MATCH_epc`` or ``MATCH_anyEPC``): the ledger is read through its code index and never
listed whole. Any other parameter is refused, naming it, rather than silently ignored.

Pages follow the events' order (event time, then ledger position) and resume after the last
event of the previous page, so an event appended meanwhile never shifts a page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from suyuan.codes import TraceCode
from suyuan.epcis._identifiers import code_from_epc, epc_uri
from suyuan.errors import CodeError, InvalidInputError
from suyuan.opaque import pack, unpack

#: Parameters this query reads.
PARAMETERS = (
    "MATCH_epc",
    "MATCH_anyEPC",
    "EQ_bizStep",
    "EQ_bizLocation",
    "GE_eventTime",
    "LT_eventTime",
    "perPage",
    "nextPageToken",
)
MAX_EPCS = 20
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
# Spellings of a CBV business step other than its bare name.
_BIZ_STEP_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "https://ref.gs1.org/cbv/BizStep-",
    "cbv:BizStep-",
)
_EPC_FIELDS = ("epcList", "childEPCs")
_ANY_EPC_FIELDS = (*_EPC_FIELDS, "inputEPCList", "outputEPCList")


class QueryParameterError(InvalidInputError):
    """A query parameter breaks a rule (EPCIS ``QueryParameterException``); :meth:`problems`
    lists every one found, the first of them named by the error itself."""

    reason = "invalid_query"

    def __init__(self, problems: Sequence[InvalidInputError]) -> None:
        first = problems[0]
        super().__init__(first.field, first.value, first.rule)
        self.errors = tuple(one for problem in problems for one in problem.problems())

    def problems(self) -> tuple[InvalidInputError, ...]:
        return self.errors

    @property
    def summary(self) -> str:
        """Every problem, one after another: ``field: rule (got value)``."""
        return "; ".join(f"{p.field}: {p.rule} (got {p.value!r})" for p in self.errors)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A parsed query. ``epcs``/``any_epcs`` are EPC URIs (as our documents write them)."""

    codes: tuple[TraceCode, ...]
    epcs: frozenset[str]
    any_epcs: frozenset[str]
    biz_steps: frozenset[str]
    biz_locations: frozenset[str]
    since: datetime | None
    before: datetime | None
    per_page: int
    after: tuple[datetime, int, int] | None
    """Resume after this event (event time, shard, seq): the page token's."""
    fingerprint: str

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether an EPCIS event (as built for the reader) meets every parameter."""
        if self.epcs and not self.epcs & _ids(event, _EPC_FIELDS):
            return False
        if self.any_epcs and not self.any_epcs & _ids(event, _ANY_EPC_FIELDS, parent=True):
            return False
        if self.biz_steps and event.get("bizStep") not in self.biz_steps:
            return False
        location = (event.get("bizLocation") or {}).get("id")
        if self.biz_locations and location not in self.biz_locations:
            return False
        moment = datetime.fromisoformat(event["eventTime"])
        if self.since is not None and moment < self.since:
            return False
        return self.before is None or moment < self.before


def _ids(event: Mapping[str, Any], fields: Iterable[str], *, parent: bool = False) -> set[str]:
    found = {uri for field in fields for uri in event.get(field, ())}
    if parent and event.get("parentID"):
        found.add(event["parentID"])
    return found


def parse_event_query(params: Mapping[str, Sequence[str]]) -> EventQuery:
    """The query of the request's parameters (name → every value given).

    Raises:
        QueryParameterError: naming every problem: an unsupported parameter, no code named, more
            than :data:`MAX_EPCS` codes, an identifier that names no trace code, a time that is
            not RFC 3339 with an offset, a bad ``perPage``, or a page token of another query.
    """
    problems: list[InvalidInputError] = []
    for name in params:
        if name not in PARAMETERS:
            problems.append(
                InvalidInputError(
                    name,
                    name,
                    f"not a supported EPCIS query parameter; supported: {', '.join(PARAMETERS)}",
                )
            )
    values = {name: _split(params.get(name, ())) for name in PARAMETERS}
    epcs, any_epcs, codes = _epcs(values, problems)
    since = _time(values, "GE_eventTime", problems)
    before = _time(values, "LT_eventTime", problems)
    per_page = _per_page(values["perPage"], problems)
    fingerprint = _fingerprint(values)
    after = _token(values["nextPageToken"], fingerprint, problems)
    if problems:
        raise QueryParameterError(problems)
    return EventQuery(
        codes=codes,
        epcs=epcs,
        any_epcs=any_epcs,
        biz_steps=frozenset(_biz_step(v) for v in values["EQ_bizStep"]),
        biz_locations=frozenset(values["EQ_bizLocation"]),
        since=since,
        before=before,
        per_page=per_page,
        after=after,
        fingerprint=fingerprint,
    )


def _split(given: Sequence[str]) -> list[str]:
    return [part.strip() for value in given for part in value.split("|") if part.strip()]


def _epcs(
    values: Mapping[str, list[str]], problems: list[InvalidInputError]
) -> tuple[frozenset[str], frozenset[str], tuple[TraceCode, ...]]:
    named = [(field, uri) for field in ("MATCH_epc", "MATCH_anyEPC") for uri in values[field]]
    if not named:
        problems.append(
            InvalidInputError(
                "MATCH_epc",
                "",
                "name at least one code (MATCH_epc or MATCH_anyEPC): "
                "the ledger is not listed whole",
            )
        )
    if len(named) > MAX_EPCS:
        problems.append(
            InvalidInputError("MATCH_epc", len(named), f"at most {MAX_EPCS} codes per query")
        )
    found: dict[str, list[str]] = {"MATCH_epc": [], "MATCH_anyEPC": []}
    codes: dict[str, TraceCode] = {}
    for field, uri in named[:MAX_EPCS]:
        try:
            code = code_from_epc(uri, field=field)
        except CodeError as err:
            problems.append(err)
            continue
        codes[code.value] = code
        found[field].append(epc_uri(code))
    return (
        frozenset(found["MATCH_epc"]),
        frozenset(found["MATCH_anyEPC"]),
        tuple(codes.values()),
    )


def _time(
    values: Mapping[str, list[str]], field: str, problems: list[InvalidInputError]
) -> datetime | None:
    given = values[field]
    if not given:
        return None
    try:
        moment = datetime.fromisoformat(given[-1])
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(
            InvalidInputError(field, given[-1], "must be an RFC 3339 date-time with an offset")
        )
        return None
    return moment


def _per_page(given: list[str], problems: list[InvalidInputError]) -> int:
    if not given:
        return DEFAULT_PER_PAGE
    text = given[-1]
    # ASCII digits only, and few of them: "²" is a digit to str.isdigit, and int() refuses
    # thousands of digits.
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not (
        1 <= int(text) <= MAX_PER_PAGE
    ):
        problems.append(
            InvalidInputError("perPage", text, f"must be a whole number from 1 to {MAX_PER_PAGE}")
        )
        return DEFAULT_PER_PAGE
    return int(text)


def _biz_step(value: str) -> str:
    for prefix in _BIZ_STEP_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _fingerprint(values: Mapping[str, list[str]]) -> str:
    """What a page token is bound to: the query without its paging."""
    asked = {k: sorted(v) for k, v in values.items() if k not in ("perPage", "nextPageToken")}
    digest = hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()
    return digest[:16]


def page_token(query: EventQuery, last: tuple[datetime, int, int]) -> str:
    """The token of the page after the event at ``last`` (event time, shard, seq)."""
    moment, shard, seq = last
    after = [moment.isoformat(), shard, seq]
    return pack({"q": query.fingerprint, "after": after})


def _token(
    given: list[str], fingerprint: str, problems: list[InvalidInputError]
) -> tuple[datetime, int, int] | None:
    if not given:
        return None
    text = given[-1]
    try:
        body = unpack(text)
        moment, shard, seq = body["after"]
        same_query = body["q"] == fingerprint
        after = (datetime.fromisoformat(moment), int(shard), int(seq))
        if after[0].tzinfo is None:
            raise ValueError("no offset")
    except (ValueError, KeyError, TypeError):
        problems.append(
            InvalidInputError("nextPageToken", text, "not a page token this service gave")
        )
        return None
    if not same_query:
        problems.append(
            InvalidInputError(
                "nextPageToken", text, "belongs to another query: send the same parameters"
            )
        )
        return None
    return after
