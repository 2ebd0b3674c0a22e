"""What a rule set derives from the case facts, kept as rows so queries need not ask the rules again.

Per case and rule-set fingerprint: every clock (step, due date, stop, who owed it) and the
case's flags with those the plugins derive (集体 from a head count, 越级 from an incident...).
The overdue board, the search's 超期 filter and each unit's next deadline are SQL over these
rows. Due dates do not depend on the day they are read: only whether a running clock is late
does, and that is a comparison in the query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.clocks import owner
from ledger.projections.rows import flag_text
from ledger.projections.state import CaseFacts, RecordFacts
from ledger.rules import RuleSet
from ledger.scope import Units
from schemas import events as ev
from schemas.facts import IncidentFact


@dataclass
class Derived:
    writes: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    deletes: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = field(default_factory=dict)


def incident_fact(record: RecordFacts) -> IncidentFact:
    e = record.event
    assert isinstance(e, ev.IncidentRecorded)
    return IncidentFact(incident=e.incident, kind=e.kind, level=e.level, persons=e.persons, township=e.township,
                        village=e.village, occurred_on=record.day, case=e.case, note=e.note)


def derive_rows(rules: RuleSet, cases: list[CaseFacts],
                incidents_of: Callable[[list[str]], dict[str, list[RecordFacts]]], units: Units) -> Derived:
    """The derived rows of ``cases`` under ``rules`` (their old rows are deleted first); ``units`` places
    each case in the unit tree, for plugins whose rules hold in some units only."""
    fingerprint = rules.fingerprint
    incidents = incidents_of([f.case.number for f in cases])
    deadlines, flags = [], []
    for facts in cases:
        case = facts.case
        cid = str(case.id)
        clocks = rules.clocks(case, case.received_on, units=units)
        for clock in clocks:
            deadlines.append((
                fingerprint, cid, clock.step, clock.kind, clock.label, clock.basis, owner(case, clock),
                clock.started_on.isoformat(), clock.due.isoformat(),
                clock.stopped_on.isoformat() if clock.stopped_on else None, int(clock.provisional),
            ))
        running = [c.due for c in clocks if c.kind == "duty" and c.stopped_on is None]
        derived = rules.flags(case, [incident_fact(r) for r in incidents.get(case.number, ())], units=units)
        flags.append((fingerprint, cid, flag_text(derived), min(running).isoformat() if running else None))
    keys = [(fingerprint, str(f.case.id)) for f in cases]
    return Derived(
        writes={"proj_deadlines": deadlines, "proj_case_rules": flags},
        deletes={"proj_deadlines": (("fingerprint", "case_id"), keys)},
    )
