"""Prometheus metrics of the capture API (``GET /metrics``): the shared request metrics plus
the events received, by outcome."""

from __future__ import annotations

from prometheus_client import Counter

from suyuan.transport import SubmitResult
from suyuan_http import HttpMetrics


class CaptureMetrics(HttpMetrics):
    """:class:`~suyuan_http.HttpMetrics` and ``suyuan_http_events`` by status and reason."""

    def __init__(self) -> None:
        super().__init__()
        self.events = Counter(
            "suyuan_http_events",
            "Events received over HTTP by outcome and reason (reason empty unless rejected)",
            ["status", "reason"],
            registry=self.registry,
        )

    def count_events(self, result: SubmitResult) -> None:
        """Count each event of ``result`` under its status (and rejection reason)."""
        for outcome in result.outcomes:
            self.events.labels(outcome.status.value, outcome.reason or "").inc()
