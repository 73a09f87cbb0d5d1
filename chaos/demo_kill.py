"""The demo through Kafka with a worker killed: every sent event in the ledger, none rejected.

``python -m chaos.demo_kill --bootstrap HOST:PORT --postgres URL [--runs 3] [--events 20000]``
(``infra/scripts/dev-services`` starts both). Each run creates a 4-partition events topic, its
one-partition trust topic and a fresh database, runs ``suyuan demo --bootstrap`` (the regulator's
trust events first, then every organisation's events, each message acknowledged before the
next), starts two ``suyuan ingest-worker`` processes, SIGKILLs the first after 8 s and starts a
third, and waits until every sent event is in the ledger or the rejections. It prints one JSON
line per run; the exit code is 1 if any run lost, rejected or doubled an event, or failed the
audit (``suyuan verify``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from suyuan.ledger import TRUST_SHARD, SqlLedgerStore, create_ledger_engine

PY = [sys.executable, "-m", "suyuan_cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--postgres", required=True, help="a server URL whose user may create DBs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("build/demo-kill"))
    args = parser.parse_args()
    ok = True
    for run in range(1, args.runs + 1):
        result = _run(run, args)
        print(json.dumps(result), flush=True)
        ok = ok and result["verdict"] == "pass"
    return 0 if ok else 1


def _run(run: int, args: argparse.Namespace) -> dict[str, Any]:
    from suyuan_ingest import kafka_clients

    tag = f"demo{run}_{uuid.uuid4().hex[:6]}"
    kafka_clients.create_topics(args.bootstrap, {tag: 4, f"{tag}.dlq": 4, f"{tag}.trust": 1})
    with sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {tag}")
    url = args.postgres.rsplit("/", 1)[0] + "/" + tag
    work = args.workdir / tag
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SUYUAN_EVENTS_TOPIC": tag,
        "SUYUAN_TRUST_TOPIC": f"{tag}.trust",
        "SUYUAN_DEAD_LETTER_TOPIC": f"{tag}.dlq",
        "SUYUAN_LEDGER_KEY_FILE": str(work / "ledger.key"),
        "SUYUAN_CUSTODY_KEY_FILE": str(work / "custody.key"),
        "SUYUAN_KAFKA_MAX_POLL_INTERVAL_MS": "10000",
        "SUYUAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "SUYUAN_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    }
    command = [*PY, "demo", "--db", url, "--bootstrap", args.bootstrap, "--no-serve"]
    summary = work / "summary.json"
    demo = subprocess.Popen(
        [*command, "--events", str(args.events), "--summary", str(summary)],
        env=env,
        stdout=(work / "demo.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    store = _wait_for_ledger(url)

    def worker(number: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*PY, "ingest-worker", "--bootstrap", args.bootstrap, "--db", url, "--group", tag],
            env=env,
            stdout=(work / f"worker{number}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )

    started = time.monotonic()
    workers = [worker(0), worker(1)]
    time.sleep(8)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    at_kill = _entries(store)
    workers.append(worker(2))
    demo.wait()
    sent = int(json.loads(summary.read_text())["events_sent"])
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if _entries(store) + sum(store.rejection_counts().values()) >= sent:
            time.sleep(2)  # anything extra (a duplicate stored) would show now
            break
        time.sleep(1)
    for proc in workers[1:]:
        proc.terminate()
        proc.wait(30)
    entries, rejections = _entries(store), store.rejection_counts()
    duplicates = sum(store.head(shard).duplicates for shard in store.shard_ids())
    audit = subprocess.run([*PY, "verify", "--db", url], env=env, capture_output=True, text=True)
    store.close()
    verdict = entries == sent and not rejections and not duplicates and audit.returncode == 0
    return {
        "run": run,
        "sent": sent,
        "entries": entries,
        "trust_shard": _size(url, TRUST_SHARD),
        "rejections": rejections,
        "duplicates": duplicates,
        "entries_when_killed": at_kill,
        "audit": audit.stdout.strip().splitlines()[-1:] or audit.stderr.strip()[-200:],
        "seconds": round(time.monotonic() - started, 1),
        "verdict": "pass" if verdict else "fail",
        "logs": str(work),
    }


def _wait_for_ledger(url: str) -> SqlLedgerStore:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            engine = create_ledger_engine(url)
            with engine.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM ledger_meta").scalar():
                    return SqlLedgerStore(engine)
        except sa.exc.SQLAlchemyError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the demo did not initialise the ledger at {url} within 60 s")


def _entries(store: SqlLedgerStore) -> int:
    return sum(store.head(shard).size for shard in store.shard_ids())


def _size(url: str, shard: int) -> int:
    store = SqlLedgerStore(create_ledger_engine(url))
    try:
        return store.head(shard).size
    finally:
        store.close()


if __name__ == "__main__":
    raise SystemExit(main())
