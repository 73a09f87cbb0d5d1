"""The witness's HTTP interface (https://c2sp.org/tlog-witness; docs/verification.md).

- ``POST /add-checkpoint``: an old size, a consistency proof and a checkpoint; answers the
  cosignature line, or the protocol's status (400, 403, 404, 409 with the size held as
  ``text/x.tlog.size``, 422) with a one-line reason;
- ``GET /checkpoint?origin=…``: the latest checkpoint cosigned for a log, cosigned again now
  (monitors compare what witnesses saw; the protocol leaves this open);
- ``GET /healthz``.

Thin: the work is :class:`suyuan.witness.Witness`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from suyuan import __version__
from suyuan.witness import Witness, WitnessRefusedError
from suyuan_http import new_app

#: A checkpoint with 63 proof lines and a few dozen signatures is a few kilobytes.
MAX_BODY_BYTES = 64 * 1024


def create_app(witness: Witness) -> FastAPI:
    """The witness service for ``witness``."""
    app = new_app(
        title="Suyuan witness",
        version=__version__,
        summary="Cosigns a ledger's checkpoints only when consistent with all it saw before.",
    )

    @app.exception_handler(WitnessRefusedError)
    async def refused(request: Request, err: WitnessRefusedError) -> Response:
        # Exactly the protocol's media type: no charset parameter added.
        headers = {"Content-Type": err.media_type}
        return Response(err.body.encode(), status_code=err.status, headers=headers)

    @app.post(
        "/add-checkpoint",
        response_class=PlainTextResponse,
        summary="Cosign a checkpoint consistent with the latest one cosigned (C2SP tlog-witness)",
    )
    async def add_checkpoint(request: Request) -> PlainTextResponse:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise WitnessRefusedError(400, f"the body must be at most {MAX_BODY_BYTES} bytes")
        lines = await run_in_threadpool(witness.add_checkpoint, body)
        return PlainTextResponse(lines)

    @app.get(
        "/checkpoint",
        response_class=PlainTextResponse,
        summary="The latest checkpoint cosigned for a log origin",
    )
    def latest(origin: Annotated[str, Query(max_length=512)]) -> PlainTextResponse:
        note = witness.latest(origin)
        if note is None:
            raise WitnessRefusedError(404, f"no checkpoint of {origin[:120]!r} cosigned")
        return PlainTextResponse(note, headers={"Cache-Control": "no-store"})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "witness": witness.cosigner.verifier.to_key()}

    return app
