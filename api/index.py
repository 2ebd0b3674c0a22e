"""What the API needs to know across cases: a small projection that follows the log.

Cases (their current state, folded with the core's own ``evolve``), units with their parents,
officials, and which cases name which petitioner. It keeps its position (the next ``seq``) and
catches up before every answer that depends on it — one indexed query when nothing is new — so
several API workers over one database each stay current without talking to each other.

A derived, rebuildable view: nothing here is ever written back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

from ledger.application import Ledger
from ledger.codec import decode_envelope
from ledger.domain import case as case_rules
from ledger.domain import records
from ledger.domain.case import Case
from ledger.domain.records import Record
from ledger.store import LedgerReader
from schemas import events as ev
from schemas.events import Envelope

PAGE = 5000


class LogIndex:
    """Cases, units, officials and petitioner references, as of ``position``."""

    def __init__(self, ledger: Ledger) -> None:
        self._reader: LedgerReader = ledger.recorder  # type: ignore[assignment]
        self._lock = threading.Lock()
        self.position = 0
        self.cases: dict[str, Case] = {}
        self.case_numbers: dict[UUID, str] = {}
        self.units: dict[str, ev.UnitRegistered] = {}
        self.children: dict[str, list[str]] = {}
        self.officials: dict[str, ev.OfficialRegistered] = {}
        self.records: dict[UUID, Record] = {}
        self.petitioner_cases: dict[str, list[str]] = {}

    def catch_up(self) -> int:
        """Fold every event recorded since the last call; returns the new position."""
        with self._lock:
            while True:
                rows = self._reader.select_events_by_seq(self.position, PAGE)
                if not rows:
                    return self.position
                for row in rows:
                    self._fold(row.originator_id, decode_envelope(row.state))
                self.position = rows[-1].seq + 1

    def _fold(self, originator_id: UUID | str, envelope: Envelope) -> None:
        event = envelope.event
        uid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        if event.aggregate == "case":
            if isinstance(event, ev.PetitionRegistered):
                self.case_numbers[uid] = event.number
                for ref in event.petitioners:
                    self.petitioner_cases.setdefault(ref, []).append(event.number)
            number = self.case_numbers.get(uid)
            if number is None:  # pragma: no cover - a case event always follows its registration
                return
            self.cases[number] = case_rules.evolve(self.cases.get(number), envelope)
            return
        self.records[uid] = records.evolve(self.records.get(uid), envelope)
        if isinstance(event, ev.UnitRegistered):
            self.units[event.code] = event
            if event.parent:
                self.children.setdefault(event.parent, []).append(event.code)
        elif isinstance(event, ev.OfficialRegistered):
            self.officials[event.code] = event

    # ── the unit tree ────────────────────────────────────────────────────────

    def within(self, unit: str | None, root: str) -> bool:
        """True when ``unit`` is ``root`` or lies below it."""
        seen = 0
        while unit is not None and seen < 64:
            if unit == root:
                return True
            registered = self.units.get(unit)
            unit = registered.parent if registered is not None else None
            seen += 1
        return False

    def ancestors(self, unit: str) -> list[str]:
        chain: list[str] = []
        registered = self.units.get(unit)
        while registered is not None and registered.parent and len(chain) < 64:
            chain.append(registered.parent)
            registered = self.units.get(registered.parent)
        return chain

    def subtree(self, root: str) -> Iterator[str]:
        stack = [root]
        seen: set[str] = set()
        while stack:
            unit = stack.pop()
            if unit in seen:
                continue
            seen.add(unit)
            yield unit
            stack.extend(self.children.get(unit, ()))

    def record_of(self, kind: str, key: str) -> Record | None:
        from ledger.domain.ids import aggregate_id

        return self.records.get(aggregate_id(kind, key))
