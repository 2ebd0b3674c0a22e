"""The facts of a period, folded from the log: what award, indicator and accountability rules judge.

Two times, never mixed (DESIGN.md "Projections, replay, appraisal"):

- the **period** is business time: an incident belongs to 2021 if it *occurred* in 2021; a
  case is read as it stood at the period's end (events that occurred later are left out);
- ``as_of`` is knowledge time: only events *recorded* at or before it count. Recording
  times never decrease along the log, so that is a prefix of the log, and the facts say
  how long it was (``tree_size``).

The fold is deterministic: the same log prefix, period and rule set give equal facts.

API::

    period = parse_period("2021")
    facts = period_facts(ledger, period, as_of=parse_as_of("2022-01-15"))

Attribution: an incident counts for the village of the people involved where it is known
(``IncidentRecorded.village``), else for the unit it names as 属地 (``township``), and for every
unit above it (a village's township, the county); its ``kinds`` are the recorded one and those
the plugins derive (``xinfang_incident_kinds``). A 信访部门 rating counts for the registering
unit, a 责任单位 rating for the unit responsible when it was given; ratings of 涉法涉诉 items
(stated or derived flag) are left out, as the satisfaction indicator leaves them out. A missed
deadline counts for the unit that owed it: routing for the registering unit, a 督办 reply for
the supervised unit, the rest for the responsible unit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.codec import decode_envelope
from ledger.domain import case as case_rules
from ledger.domain.case import CHINA, Case, business_day
from ledger.clocks import owner
from ledger.errors import InvalidInput
from ledger.log import iter_log
from schemas import events as ev
from schemas.facts import CaseFact, IncidentFact, OverdueClock, Period, PeriodFacts, UnitFacts
from schemas.rules import Clock

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.rules import RuleSet

__all__ = ["EXCLUDED_FROM_RATES", "parse_as_of", "parse_period", "period_facts"]

EXCLUDED_FROM_RATES = "涉法涉诉"
"""Items with this flag are left out of the acceptance and satisfaction rates (domain §4), and so
out of every award that judges satisfaction."""

_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> Period:
    """``2021`` (a year), ``2021-03`` (a month) or ``2021-01-01..2021-06-30`` (days, both included)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return Period(label=f"{year}年", start=date(year, 1, 1), end=date(year, 12, 31))
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            start = date(year, month, 1)
            end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            return Period(label=f"{year}年{month}月", start=start, end=end)
        match = _RANGE.match(text)
        if match:
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if end >= start:
                return Period(label=f"{start.isoformat()}至{end.isoformat()}", start=start, end=end)
    except ValueError:
        pass
    raise InvalidInput(
        f"考核期 {text!r} 无效：应为 2021（年）、2021-03（月）或 2021-01-01..2021-06-30（起止日期）",
        code="bad_period",
    )


def parse_as_of(text: str) -> datetime:
    """An RFC 3339 time with its zone, or a day (``2022-01-15``: the end of that day in China)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time.max, CHINA)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            f"as-of 时间 {text!r} 无效：应为带时区的时间（2022-01-15T18:00:00+08:00）或日期（2022-01-15）",
            code="bad_as_of",
        )
    try:
        moment.astimezone(CHINA)
    except OverflowError:
        raise InvalidInput(f"as-of 时间 {text!r} 超出可表示的范围", code="bad_as_of") from None
    return moment


class _Fold:
    """State while reading the log prefix."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self.units: dict[str, ev.UnitRegistered] = {}
        self.cases: dict[UUID, Case] = {}
        self.incidents: list[IncidentFact] = []
        self.rated: list[tuple[UUID, str, str, str]] = []
        """(case, unit charged, party, rating) of the ratings given in the period."""

    def apply(self, envelope: ev.Envelope) -> None:
        day = business_day(envelope.occurred_at)
        if day > self.period.end:
            return  # the period is read as it stood at its end
        event = envelope.event
        if event.aggregate == "case":
            before = self.cases.get(envelope.originator_id)
            after = case_rules.evolve(before, envelope)
            self.cases[envelope.originator_id] = after
            if isinstance(event, ev.SatisfactionRated | ev.RatingExpired) and day >= self.period.start:
                unit = after.registered_by if event.party == "信访部门" else (after.current_unit or after.registered_by)
                value = event.rating if isinstance(event, ev.SatisfactionRated) else "超期未评价"
                self.rated.append((envelope.originator_id, unit, event.party, value))
        elif isinstance(event, ev.UnitRegistered):
            self.units[event.code] = event
        elif isinstance(event, ev.IncidentRecorded):
            self.incidents.append(IncidentFact(
                incident=event.incident, kind=event.kind, level=event.level, persons=event.persons,
                township=event.township, village=event.village, occurred_on=day, case=event.case, note=event.note,
            ))

    def chain(self, code: str) -> list[str]:
        """``code`` and the units above it."""
        chain: list[str] = []
        while code in self.units and code not in chain:
            chain.append(code)
            code = self.units[code].parent or ""
        return chain


def period_facts(ledger: Ledger, period: Period, *, as_of: datetime | None = None) -> PeriodFacts:
    """Fold the log (up to ``as_of``) into the facts of ``period`` under the ledger's rule set."""
    return fold_facts(ledger.recorder, ledger.rules, period, as_of=as_of)  # type: ignore[arg-type]


def fold_facts(reader: object, rules: RuleSet, period: Period, *, as_of: datetime | None = None,
               today: date | None = None) -> PeriodFacts:
    """:func:`period_facts` on a log reader (:class:`ledger.store.LedgerReader`) and a rule set;
    ``today`` (the server's day when None) is the reference day of a period not over without ``as_of``."""
    fold = _Fold(period)
    size = 0
    for row in iter_log(reader):  # type: ignore[arg-type]
        envelope = decode_envelope(row.state)
        if as_of is not None and envelope.recorded_at > as_of:
            break
        size = row.seq + 1
        fold.apply(envelope)

    known = as_of.astimezone(CHINA).date() if as_of is not None else today or datetime.now(CHINA).date()
    reference = min(period.end, known)
    incidents = [msgspec.structs.replace(i, kinds=rules.incident_kinds(i)) for i in fold.incidents]
    in_period = [i for i in incidents if i.occurred_on in period]
    by_case: dict[str, list[IncidentFact]] = defaultdict(list)
    for incident in incidents:
        if incident.case:
            by_case[incident.case].append(incident)

    cases: list[CaseFact] = []
    overdue: dict[str, list[OverdueClock]] = defaultdict(list)
    flags: dict[UUID, list[str]] = {}

    def flags_of(uid: UUID) -> list[str]:
        found = flags.get(uid)
        if found is None:
            case = fold.cases[uid]
            found = flags[uid] = rules.flags(case, by_case.get(case.number, ()), units=fold.units)
        return found

    ratings: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for uid, unit, party, value in fold.rated:
        if EXCLUDED_FROM_RATES not in flags_of(uid):
            ratings[unit][party][value] += 1
    for uid, case in fold.cases.items():
        clocks = rules.clocks(case, reference, units=fold.units)
        if case.received_on not in period and not any(c.due in period for c in clocks):
            continue
        for clock in clocks:
            if clock.kind == "duty" and clock.overdue and clock.due in period:
                overdue[owner(case, clock)].append(OverdueClock(case=case.number, clock=clock))
        cases.append(CaseFact(
            number=case.number, stage=case.stage, channel=case.channel, subject=case.subject,
            flags=flags_of(uid), persons=case.persons,
            first_time=case.repeat_of is None, home_township=case.home_township,
            registered_by=case.registered_by, unit=case.current_unit, received_on=case.received_on,
            accepted_on=case.accepted_on, refused_on=case.refused_on, decided_on=case.decided_on,
            concluded_on=case.concluded_on, ratings=dict(case.ratings), clocks=clocks,
        ))

    attributed: dict[str, list[IncidentFact]] = defaultdict(list)
    for incident in in_period:
        for code in fold.chain(incident.village or incident.township):
            attributed[code].append(incident)
    units = [
        UnitFacts(
            unit=code, name=u.name, kind=u.kind, parent=u.parent, township_class=u.township_class,
            incidents=sorted(attributed.get(code, ()), key=lambda i: (i.occurred_on, i.incident)),
            ratings={party: dict(sorted(counts.items())) for party, counts in sorted(ratings.get(code, {}).items())},
            overdue=sorted(overdue.get(code, ()), key=lambda o: (o.clock.due, o.case, o.clock.step)),
        )
        for code, u in sorted(fold.units.items())
    ]
    return PeriodFacts(
        period=period, as_of=as_of, reference_day=reference, tree_size=size,
        rules_fingerprint=rules.fingerprint, units=units,
        cases=sorted(cases, key=lambda c: c.number),
        incidents=sorted(in_period, key=lambda i: (i.occurred_on, i.incident)),
    )
