"""A small client of the capture API for the command line (``suyuan cert``, ``suyuan org``
over HTTP; docs/http-ingest.md): an organisation's token instead of a key file and the database.

Every refusal of the service becomes an :class:`ApiCallError` carrying the service's
``reason``, ``field`` and ``rule``, so the command shows what the service said.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from suyuan import __version__
from suyuan.errors import SuyuanError

#: Seconds to wait for the service (connect and each read).
TIMEOUT = 30.0


class ApiCallError(SuyuanError):
    """The service refused a call, or could not be reached (``status`` 0)."""

    def __init__(
        self,
        status: int,
        reason: str,
        rule: str,
        field: str | None = None,
        value: str | None = None,
        problems: tuple[str, ...] = (),
    ) -> None:
        self.status = status
        self.reason = reason
        self.rule = rule
        self.field = field
        self.value = value
        #: Every problem the service listed (RFC 9457 ``errors``), as ``field: rule`` lines.
        self.problems = problems
        where = f"{field}: " if field else ""
        head = f"{where}{rule} ({reason}{f', HTTP {status}' if status else ''})"
        more = [p for p in problems if p != f"{where}{rule}"]
        super().__init__("\n".join([head, *(f"  also {p}" for p in more)]))


class IngestClient:
    """Calls of the capture API at ``url`` with the API token ``token``."""

    def __init__(
        self, url: str, token: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"suyuan/{__version__}",
            },
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._client.close()

    def issue(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/certificates``: the issued certificate (code, links, event).

        Raises:
            ApiCallError: the service refused it (its reason, field and rule) or is unreachable.
        """
        return self._call("POST", "/v1/certificates", body)

    def void(self, code: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/certificates/{code}/void``.

        Raises:
            ApiCallError: the service refused it or is unreachable.
        """
        return self._call("POST", f"/v1/certificates/{quote(code, safe='')}/void", body)

    def organisation(self) -> dict[str, Any]:
        """``GET /v1/organisation``: the token's organisation and its 联系方式.

        Raises:
            ApiCallError: the service refused it or is unreachable.
        """
        return self._call("GET", "/v1/organisation", None)

    def set_contact(self, contact: str) -> dict[str, Any]:
        """``PUT /v1/organisation/contact``.

        Raises:
            ApiCallError: the service refused it or is unreachable.
        """
        return self._call("PUT", "/v1/organisation/contact", {"contact": contact})

    def glns(self) -> dict[str, Any]:
        """``GET /v1/organisation/glns``: the GLNs registered to the token's organisation.

        Raises:
            ApiCallError: the service refused it or is unreachable.
        """
        return self._call("GET", "/v1/organisation/glns", None)

    def register_gln(self, uscc: str, gln: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /v1/organisations/{uscc}/glns/{gln}`` (an admin token).

        Raises:
            ApiCallError: the service refused it or is unreachable.
        """
        path = f"/v1/organisations/{quote(uscc, safe='')}/glns/{quote(gln, safe='')}"
        return self._call("PUT", path, body)

    def label(self, label_url: str) -> bytes:
        """The printable label at ``label_url`` (an answer's, on the query service), fetched
        with the token: the issuer's label prints its 联系方式.

        Raises:
            ApiCallError: the label could not be fetched.
        """
        try:
            response = self._client.get(label_url)
        except httpx.HTTPError as err:
            raise ApiCallError(0, "unreachable", f"no answer from {label_url}: {err}") from None
        if not response.is_success:
            raise ApiCallError(
                response.status_code, "label_unavailable", f"{label_url} answered an error"
            )
        return response.content

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as err:
            raise ApiCallError(
                0, "unreachable", f"no answer from {self._client.base_url}: {err}"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict):
            return answer
        # ``reason``/``field``/``rule``, also inside an RFC 9457 problem document
        if isinstance(answer, dict) and ("reason" in answer or "rule" in answer):
            raise ApiCallError(
                response.status_code,
                str(answer.get("reason") or answer.get("title") or "refused"),
                str(answer.get("rule") or answer.get("detail") or ""),
                None if answer.get("field") is None else str(answer["field"]),
                None if answer.get("value") is None else str(answer["value"]),
                _problems(answer.get("errors")),
            )
        raise ApiCallError(
            response.status_code,
            "unexpected_answer",
            f"{method} {path} answered {response.status_code} without a Suyuan error body "
            "(is this URL the ingest API?)",
        )


def _problems(listed: Any) -> tuple[str, ...]:
    """The ``errors`` of a problem document as ``field: rule`` lines (empty when absent)."""
    if not isinstance(listed, list):
        return ()
    lines = []
    for problem in listed:
        if isinstance(problem, dict):
            field = problem.get("field")
            lines.append(f"{field}: {problem.get('rule')}" if field else str(problem.get("rule")))
    return tuple(lines)
