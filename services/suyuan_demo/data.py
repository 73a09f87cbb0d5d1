"""The demo's signed messages, as the story makes them, and the codes worth scanning."""

from __future__ import annotations

from dataclasses import dataclass, field

from suyuan.events.model import Event
from suyuan.scenario import Organisation, Scenario


@dataclass
class DemoData:
    """The signed messages of the demo, in order, and the codes worth scanning."""

    scenario: Scenario
    messages: list[bytes] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    events: int = 0
    orgs: dict[str, Organisation] = field(default_factory=dict)
    """Organisations the demo hands out tokens for: ``farm``, ``market``, ``regulator``."""

    def add(self, signer: Organisation | None, events: list[Event]) -> None:
        if signer is None:
            self.messages.append(self.scenario.sign_as_root(events))
        else:
            self.messages.append(self.scenario.sign(signer, events))
        self.events += len(events)
