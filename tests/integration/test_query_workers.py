"""``suyuan serve-query --workers N``: several processes serve one port on one ledger (the query
service keeps no state between requests), each signing checkpoints on its schedule without
failing the other's (docs/http-query.md). The race of two signers on one tree size is forced
in the contract suite (``test_two_processes_signing_the_same_head_agree_on_one_checkpoint``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from suyuan.ledger import DEFAULT_LEDGER_NAME, load_or_create_ledger_key
from tests.demo_ledger import load_demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def test_two_query_processes_serve_one_port_and_sign_one_checkpoint_per_size(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    key_file = tmp_path / "ledger.key"
    signer = load_or_create_ledger_key(key_file, DEFAULT_LEDGER_NAME)
    data, store = load_demo(url, verifier=signer.verifier)
    shards = store.shard_ids()
    store.close()
    port = _free_port()
    env = {
        **os.environ,
        "SUYUAN_LEDGER_KEY_FILE": str(key_file),
        "SUYUAN_CHECKPOINT_INTERVAL_SECONDS": "0.5",
    }
    env.pop("SUYUAN_KAFKA_BOOTSTRAP", None)
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "suyuan_cli", "serve-query", "--db", url]
    command += ["--port", str(port), "--workers", "2"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        assert len(_children(server.pid)) >= 2, log.read_text()
        code = data.codes["clean certificate"]
        for _ in range(6):
            answer = httpx.get(f"{base}/v1/trace/{code}", timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "ok"
        time.sleep(3)  # several signing rounds of both processes
        checkpoint = httpx.get(f"{base}/v1/ledger/checkpoint", timeout=10)
        assert checkpoint.status_code == 200, checkpoint.text
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    text = log.read_text()
    assert "2 processes" in text
    assert "scheduled checkpoint signing failed" not in text, text
    from suyuan.ledger import SqlLedgerStore, create_ledger_engine

    store = SqlLedgerStore(create_ledger_engine(url))
    try:
        for shard in shards:
            sizes = [c.size for c in store.checkpoints(shard)]
            assert sizes == sorted(set(sizes)) and sizes, (shard, sizes)
    finally:
        store.close()
