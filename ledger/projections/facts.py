"""The facts of a period, read from the same folded state as the reports: what plugins judge.

One fold serves both (:mod:`ledger.projections.state`): the state of the log prefix an ``as_of``
selects, persisted and caught up, or replayed for a past ``as_of``. The period is read from it
the way the reports read it (:mod:`ledger.projections.reports`): a case registered by the period's
end; its clocks as seen on the reference day (:func:`ledger.clocks.seen_on`: a step due in the
period and done after it is late in the period); its stage and outcomes (acceptance, decision,
conclusion, a rating) as they stood at the period's end; incidents that occurred in it.

Attribution: an incident counts for the village of the people involved where it is known, else
for the unit it names as 属地, and for every unit above it; its ``kinds`` are the recorded one and
those the plugins derive. A 信访部门 rating counts for the registering unit, a 责任单位 rating for the
unit responsible when it was given; ratings of 涉法涉诉 items are left out, as the satisfaction
indicator leaves them out. A missed deadline counts for the unit that owed it (:func:`ledger.clocks.owner`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import msgspec

from ledger.clocks import owner, seen_on
from ledger.facts import EXCLUDED_FROM_RATES
from ledger.projections.derived import incident_fact
from ledger.projections.state import CaseFacts, State
from ledger.rules import RuleSet
from schemas import events as ev
from schemas.facts import CaseFact, IncidentFact, OverdueClock, Period, PeriodFacts, UnitFacts


def period_facts(state: State, rules: RuleSet, period: Period, reference: date, *,
                 as_of: datetime | None = None) -> PeriodFacts:
    """The facts of ``period`` in ``state`` under ``rules``, read on the ``reference`` day."""
    units = {r.event.code: r.event for r in state.records.values() if isinstance(r.event, ev.UnitRegistered)}
    incidents = [msgspec.structs.replace(fact, kinds=rules.incident_kinds(fact)) for fact in
                 (incident_fact(r) for r in state.records.values() if r.kind == "incident")
                 if fact.occurred_on <= period.end]
    by_case: dict[str, list[IncidentFact]] = defaultdict(list)
    for incident in incidents:
        if incident.case:
            by_case[incident.case].append(incident)

    cases: list[CaseFact] = []
    overdue: dict[str, list[OverdueClock]] = defaultdict(list)
    ratings: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for facts in state.cases.values():
        case = facts.case
        if case.received_on > period.end:
            continue
        flags = rules.flags(case, by_case.get(case.number, ()), units=units)
        rated = [r for r in facts.ratings if r.day <= period.end]
        if EXCLUDED_FROM_RATES not in flags:
            for r in rated:
                if r.day >= period.start:
                    ratings[r.unit][r.party][r.rating] += 1
        clocks = [seen_on(c, reference) for c in rules.clocks(case, reference, units=units)]
        if case.received_on not in period and not any(c.due in period for c in clocks):
            continue
        for clock in clocks:
            if clock.kind == "duty" and clock.overdue and clock.due in period:
                overdue[owner(case, clock)].append(OverdueClock(case=case.number, clock=clock))
        cases.append(_case_fact(facts, flags, clocks, rated, period.end))

    attributed: dict[str, list[IncidentFact]] = defaultdict(list)
    in_period = [i for i in incidents if i.occurred_on in period]
    for incident in in_period:
        for code in _chain(incident.village or incident.township, units):
            attributed[code].append(incident)
    unit_facts = [
        UnitFacts(
            unit=code, name=u.name, kind=u.kind, parent=u.parent, township_class=u.township_class,
            incidents=sorted(attributed.get(code, ()), key=lambda i: (i.occurred_on, i.incident)),
            ratings={party: dict(sorted(counts.items())) for party, counts in sorted(ratings.get(code, {}).items())},
            overdue=sorted(overdue.get(code, ()), key=lambda o: (o.clock.due, o.case, o.clock.step)),
        )
        for code, u in sorted(units.items())
    ]
    return PeriodFacts(
        period=period, as_of=as_of, reference_day=reference, tree_size=state.size,
        rules_fingerprint=rules.fingerprint, units=unit_facts,
        cases=sorted(cases, key=lambda c: c.number),
        incidents=sorted(in_period, key=lambda i: (i.occurred_on, i.incident)),
    )


def _case_fact(facts: CaseFacts, flags: list[str], clocks: list, rated: list, end: date) -> CaseFact:  # type: ignore[type-arg]
    case = facts.case

    def by_end(day: date | None) -> date | None:
        return day if day is not None and day <= end else None

    return CaseFact(
        number=case.number, stage=facts.stage_on(end), channel=case.channel, subject=case.subject, flags=flags,
        persons=case.persons, first_time=case.repeat_of is None, home_township=case.home_township,
        registered_by=case.registered_by, unit=case.current_unit, received_on=case.received_on,
        accepted_on=by_end(case.accepted_on), refused_on=by_end(case.refused_on),
        decided_on=by_end(case.decided_on), concluded_on=by_end(case.concluded_on),
        ratings={r.party: r.rating for r in rated}, clocks=clocks,
    )


def _chain(code: str, units: dict[str, ev.UnitRegistered]) -> list[str]:
    """``code`` and the units above it."""
    chain: list[str] = []
    while code in units and code not in chain:
        chain.append(code)
        code = units[code].parent or ""
    return chain
