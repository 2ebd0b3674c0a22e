"""Writing: commands through the whole stack, and bulk import, against a bare eventsourcing app.

``python -m bench.write [--commands 2000] [--bulk 50000] [--db postgres]``

The baseline is measured in the same run: a bare eventsourcing application (library
SQLite recorder, JSON transcoder) saving one small aggregate event per transaction —
the same count and shape of writes the ledger does for one command. The ledger adds
deciding the command, the idempotency receipt and the Merkle leaf and nodes in the
same transaction. Bulk import batches 1,000 commands per transaction. Figures only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from ledger.application import Ledger
from ledger.domain.case import CHINA
from schemas.commands import COMMANDS_BY_NAME
from schemas.common import Actor

START = datetime(2021, 1, 4, 9, tzinfo=CHINA)
CLERK = Actor(id="clerk-1", unit="county", role="clerk")


class Item(Aggregate):
    @event("Registered")
    def __init__(self, subject: str, township: str) -> None:
        self.subject = subject
        self.township = township


def bare_events_per_second(folder: Path, count: int) -> float:
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(folder / "bare.db")})
    started = time.perf_counter()
    for n in range(count):
        app.save(Item(subject=f"土地征收补偿 {n}", township="county"))
    elapsed = time.perf_counter() - started
    app.close()
    return count / elapsed


def registrations(count: int, prefix: str) -> list[object]:
    register = COMMANDS_BY_NAME["RegisterPetition"]
    return [
        register(command_id=f"{prefix}-{n}", occurred_at=START + timedelta(seconds=n), channel="来访",
                 subject=f"土地征收补偿 {n}", home_township="county", number=f"{prefix}-{n:07d}")
        for n in range(count)
    ]


def prepared_ledger(url: str) -> Ledger:
    ledger = Ledger(url, clock=lambda: START + timedelta(days=365))
    unit = COMMANDS_BY_NAME["RegisterUnit"]
    ledger.execute(unit(command_id="unit", occurred_at=START, code="county", name="示范县", kind="县"), CLERK)
    return ledger


def ledger_events_per_second(url: str, count: int) -> float:
    ledger = prepared_ledger(url)
    commands = registrations(count, "one")
    started = time.perf_counter()
    for command in commands:
        ledger.execute(command, CLERK)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    ledger.close()
    return count / elapsed


def bulk_events_per_second(url: str, count: int) -> float:
    ledger = prepared_ledger(url)
    commands = registrations(count, "bulk")
    started = time.perf_counter()
    written = sum(1 for _ in ledger.execute_many(commands, CLERK, batch="bench", chunk=1000))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    ledger.close()
    return written / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--bulk", type=int, default=50_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL of an empty database to measure too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = bare_events_per_second(folder, args.commands)
        ours = ledger_events_per_second(f"sqlite:///{folder / 'one.sqlite3'}", args.commands)
        bulk = bulk_events_per_second(f"sqlite:///{folder / 'bulk.sqlite3'}", args.bulk)
    print(f"bare eventsourcing app, one save per event (SQLite): {bare:10.0f} events/s")
    print(f"ledger, one command per transaction (SQLite):        {ours:10.0f} events/s  ratio {ours / bare:.2f} (budget ≥ 0.70)")
    print(f"ledger, bulk import 1,000 per transaction (SQLite):  {bulk:10.0f} events/s  (budget ≥ 50,000)")
    if args.postgres:
        pg = ledger_events_per_second(args.postgres, args.commands)
        print(f"ledger, one command per transaction (PostgreSQL):    {pg:10.0f} events/s")


if __name__ == "__main__":
    main()
