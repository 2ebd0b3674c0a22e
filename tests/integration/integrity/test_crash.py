"""Killing a writer (SIGKILL) in the middle of appends, again and again, on SQLite and PostgreSQL:
every acknowledged command is there afterwards, nothing half-written is, and the log verifies.

The child process appends petitions one at a time and in batches of five, printing each command
id only after the call that saved it returned; the parent kills it at a random moment, a dozen
times, then checks the database: events, leaves, receipts and tree agree, and ``verify`` passes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.tamper import Operator, build_county

from ledger.application import Ledger
from ledger.integrity.verify import verify

TESTS = Path(__file__).resolve().parents[2]
KILLS = 12

CHILD = r"""
import sys
from datetime import timedelta
from ledger.application import Ledger
from support.county import CLERK, START, command

url, run = sys.argv[1], sys.argv[2]
ledger = Ledger(url)
print("ready", flush=True)
i = 0
while True:
    if i % 3 == 2:
        batch = [command("RegisterPetition", START + timedelta(days=1), command_id=f"{run}-{i + j}") for j in range(5)]
        outcomes = list(ledger.execute_many(batch, CLERK))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        print("\n".join(c.command_id for c in batch), flush=True)
        i += 5
    else:
        ledger.execute(command("RegisterPetition", START + timedelta(days=1), command_id=f"{run}-{i}"), CLERK)
        print(f"{run}-{i}", flush=True)
        i += 1
"""


def _run_and_kill(url: str, run: int, rng: random.Random) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, f"run{run}"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", line + (child.stderr.read() if child.stderr else "")
    time.sleep(rng.uniform(0.05, 0.6))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err
    return [x for x in out.splitlines() if x]


def test_killed_writers_leave_every_acknowledged_event_and_nothing_partial(database_url: str) -> None:
    build_county(database_url)
    rng = random.Random(20261122)
    acknowledged: list[str] = []
    for run in range(KILLS):
        acknowledged += _run_and_kill(database_url, run, rng)
    assert acknowledged, "the writer never got a command saved"

    ledger = Ledger(database_url)
    try:
        report = verify(ledger.recorder)
        assert report.ok, report.failure
        missing = [c for c in acknowledged if ledger.recorder.get_receipt(c) is None]
        assert not missing, f"{len(missing)} acknowledged commands lost, e.g. {missing[:3]}"
        size = ledger.recorder.tree_size()
    finally:
        ledger.close()
    with Operator(database_url) as db:
        events = db.q("SELECT COUNT(*) FROM stored_events")[0][0]
        leaves = db.q("SELECT COUNT(*) FROM ledger_leaves")[0][0]
        receipts = db.q("SELECT COUNT(*) FROM command_receipts")[0][0]
        nodes = db.q("SELECT COUNT(*) FROM ledger_nodes")[0][0]
    # one event, one leaf, one receipt per command; 2n − popcount(n) perfect subtrees for n leaves
    assert events == leaves == size == receipts
    assert nodes == 2 * size - bin(size).count("1")
    # and the ledger takes writes again after all that
    again = Ledger(database_url)
    try:
        from support.county import CLERK, START, command

        again.execute(command("RegisterPetition", START, command_id="after-the-crashes"), CLERK)
        assert verify(again.recorder).ok
    finally:
        again.close()
