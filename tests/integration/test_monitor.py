"""The monitor follows a ledger's tiled logs from outside and raises the alarm a user would act
on: a fork (two histories signed with the ledger key), a rollback, a checkpoint the ledger did
not sign, an entry whose signature does not verify.

The honest log is the real query service. A dishonest one is :class:`ForgedLog`: what an
operator holding the ledger key could serve — the same leaves cut back, other leaves, or a
forged leaf hashed into a properly signed tree."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suyuan.events import decode_event, encode_event
from suyuan.ledger import TRUST_SHARD, Leaf, load_or_create_ledger_key, shard_origin
from suyuan.merkle import Frontier, leaf_hash
from suyuan.monitor import Fetch, FetchError, LogMonitor, MonitorFinding
from suyuan.scenario import vegetable_certificate
from suyuan.tlog import (
    Checkpoint,
    NoteSigner,
    entry_bundle,
    parse_tile_path,
    sign_checkpoint,
    tile_bytes,
)
from suyuan_cli import app as cli
from tests.integration.browser_harness import served
from tests.integration.test_trace_api import LEDGER_NAME, Query, start_query


@dataclasses.dataclass
class Honest:
    query: Query
    signer: NoteSigner
    tmp: Path

    def grow(self, prefix: str, count: int = 30) -> None:
        """Append ``count`` certificates and sign a checkpoint, as the service does."""
        s = self.query.scenario
        lots = [s.unit_code(item="10078", lot=f"{prefix}{i:03d}") for i in range(count)]
        events = [vegetable_certificate(s, self.query.importer, lot) for lot in lots]
        self.query.append(self.query.importer.key, events)
        assert self.query.client.app.state.context.ledger.sign_moved() >= 1

    def fetch(self, token: str | None = None) -> Fetch:
        def fetch(path: str) -> bytes:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = self.query.client.get(f"/{path}", headers=headers)
            if answer.status_code != 200:
                raise FetchError(f"{path}: HTTP {answer.status_code}")
            return bytes(answer.content)

        return fetch

    def leaves(self, shard: int) -> list[bytes]:
        return [entry.leaf for entry in self.query.store.entries(shard)]

    def monitor(self, *, signatures: bool = False, state: str | None = None) -> LogMonitor:
        token = self.query.admin_token if signatures else None
        return LogMonitor(
            self.fetch(token),
            self.signer.verifier,
            [0, TRUST_SHARD] if signatures else [0],
            roots=[self.query.scenario.root] if signatures else [],
            entries=signatures,
            state=state,
        )


class ForgedLog:
    """Serves leaves as a tiled log under a checkpoint signed with ``signer``."""

    def __init__(self, signer: NoteSigner, shards: dict[int, list[bytes]]) -> None:
        self._signer = signer
        self._leaves = shards
        self._nodes: dict[int, dict[tuple[int, int], bytes]] = {}
        self._notes: dict[int, str] = {}
        for shard, leaves in shards.items():
            frontier = Frontier()
            nodes = frontier.extend(leaf_hash(leaf) for leaf in leaves)
            self._nodes[shard] = {(n.level, n.index): n.hash for n in nodes}
            origin = shard_origin(signer.name, shard)
            self._notes[shard] = sign_checkpoint(
                Checkpoint(origin, frontier.size, frontier.root()), signer
            )

    def fetch(self, path: str) -> bytes:
        _, shard_text, rest = path.split("/", 2)
        shard = int(shard_text)
        if rest == "checkpoint":
            return self._notes[shard].encode()
        ref = parse_tile_path(rest)
        if ref.is_entries:
            return entry_bundle(self._leaves[shard][ref.first : ref.first + ref.width])
        return tile_bytes([self._nodes[shard][node] for node in ref.nodes()])


@pytest.fixture
def honest(tmp_path: Path) -> Iterator[Honest]:
    for query in start_query(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path):
        query.client.app.state.context.ledger.sign_moved()
        yield Honest(
            query, load_or_create_ledger_key(tmp_path / "ledger.key", LEDGER_NAME), tmp_path
        )


def _problems(findings: list[MonitorFinding]) -> list[tuple[int, str]]:
    return [(f.shard, f.problem) for f in findings]


def test_an_honest_log_raises_no_alarm_as_it_grows(honest: Honest) -> None:
    watcher = honest.monitor(signatures=True)
    assert watcher.poll() == []
    before = watcher.sizes[0]
    honest.grow("A")
    assert watcher.poll() == []
    assert watcher.sizes[0] == before + 30
    assert watcher.sizes[TRUST_SHARD] == len(honest.leaves(TRUST_SHARD))


def test_a_split_view_is_caught_as_a_fork(honest: Honest) -> None:
    watcher = honest.monitor()
    assert watcher.poll() == []
    # The operator shows this monitor a history where one entry differs, signed with the
    # ledger key, at a larger size.
    leaves = honest.leaves(0)
    other = ForgedLog(honest.signer, {0: [*leaves[:-1], leaves[0], leaves[1]]})
    forked = LogMonitor(other.fetch, honest.signer.verifier, [0], state=watcher.state_json())
    findings = forked.poll()
    assert _problems(findings) == [(0, "forked")]
    assert "does not extend" in findings[0].detail
    # The alarm stays until someone looks: the held tree did not move.
    assert _problems(forked.poll()) == [(0, "forked")]


def test_a_log_cut_back_is_caught_as_a_rollback(honest: Honest) -> None:
    watcher = honest.monitor()
    honest.grow("B")
    assert watcher.poll() == []
    cut = ForgedLog(honest.signer, {0: honest.leaves(0)[:-10]})
    rolled = LogMonitor(cut.fetch, honest.signer.verifier, [0], state=watcher.state_json())
    findings = rolled.poll()
    assert _problems(findings) == [(0, "rolled_back")]
    assert "it showed" in findings[0].detail


def test_a_checkpoint_not_signed_by_the_ledger_is_refused(honest: Honest) -> None:
    stranger = NoteSigner.generate(LEDGER_NAME)
    fake = ForgedLog(stranger, {0: honest.leaves(0)})
    findings = LogMonitor(fake.fetch, honest.signer.verifier, [0]).poll()
    assert _problems(findings) == [(0, "bad_checkpoint")]


def test_a_forged_entry_in_a_properly_signed_tree_is_caught_by_its_signature(
    honest: Honest,
) -> None:
    """The operator rewrites an event (its quantity) and rebuilds the tree and checkpoint with
    the ledger key: hashes and checkpoint agree, but the producer's signature does not."""
    leaves = honest.leaves(0)
    victim = Leaf.from_bytes(leaves[40])
    event = decode_event(victim.event)
    assert event.quantity is not None
    forged_event = encode_event(dataclasses.replace(event, quantity=event.quantity * 2))
    leaves[40] = dataclasses.replace(victim, event=forged_event).to_bytes()
    log = ForgedLog(honest.signer, {0: leaves, TRUST_SHARD: honest.leaves(TRUST_SHARD)})
    watcher = LogMonitor(
        log.fetch,
        honest.signer.verifier,
        [0, TRUST_SHARD],
        roots=[honest.query.scenario.root],
        entries=True,
    )
    findings = watcher.poll()
    assert [(f.shard, f.detail.split(":")[0]) for f in findings] == [(0, "entry 40")]
    assert findings[0].problem == "bad_signature", findings


def test_entries_that_do_not_match_the_tiles_are_caught(honest: Honest) -> None:
    fetch = honest.fetch(honest.query.admin_token)

    def swapped(path: str) -> bytes:
        body = fetch(path)
        if "/tile/entries/" in path and path.startswith("log/0/"):
            entries = body  # swap the first two entries of the bundle
            first = int.from_bytes(entries[:2], "big")
            one, rest = entries[: 2 + first], entries[2 + first :]
            second = int.from_bytes(rest[:2], "big")
            return rest[: 2 + second] + one + rest[2 + second :]
        return body

    findings = LogMonitor(swapped, honest.signer.verifier, [0], entries=True).poll()
    assert _problems(findings)[:2] == [(0, "entry_mismatch"), (0, "entry_mismatch")]


def test_an_unreachable_log_proves_nothing_either_way(honest: Honest) -> None:
    def down(path: str) -> bytes:
        raise FetchError(f"{path}: connection refused")

    findings = LogMonitor(down, honest.signer.verifier, [0]).poll()
    assert _problems(findings) == [(0, "unreachable")]


def test_the_command_follows_a_served_ledger_and_keeps_its_state(honest: Honest) -> None:
    state = honest.tmp / "monitor.json"
    pub = honest.tmp / "ledger.pub"
    runner = CliRunner()
    with served(honest.query.client.app, lifespan="off") as url:
        args = ["monitor", url, "--ledger-pubkey", str(pub), "--state", str(state), "--once"]
        first = runner.invoke(cli, args)
        assert first.exit_code == 0, first.output
        assert "OK" in first.output and "shard 0:" in first.output
        held = json.loads(state.read_text())
        assert set(held) == {"0"}
        honest.grow("C")
        again = runner.invoke(cli, args)
        assert again.exit_code == 0, again.output

        assert json.loads(state.read_text())["0"]["note"].startswith(f"{LEDGER_NAME}/shard/0\n")
    # The operator cuts the ledger back: a run from the kept state says so.
    cut = ForgedLog(honest.signer, {0: honest.leaves(0)[:-5]})
    rolled = LogMonitor(cut.fetch, honest.signer.verifier, [0], state=state.read_text())
    assert _problems(rolled.poll()) == [(0, "rolled_back")]


def test_the_command_refuses_half_given_options(honest: Honest) -> None:
    pub = str(honest.tmp / "ledger.pub")
    answer = CliRunner().invoke(
        cli, ["monitor", "http://127.0.0.1:9", "--ledger-pubkey", pub, "--root-key", pub]
    )
    assert answer.exit_code == 2
    assert "--root-key needs --regulator" in answer.output
    unreachable = CliRunner().invoke(
        cli, ["monitor", "http://127.0.0.1:9", "--ledger-pubkey", pub, "--once"]
    )
    assert unreachable.exit_code == 3
    assert "unreachable" in unreachable.output
