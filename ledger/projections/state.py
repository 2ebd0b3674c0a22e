"""The fold: what every report reads, built from the log one event at a time.

Three parts, each a projection with its own position (see :mod:`ledger.projections.runner`):

- ``cases``: per case, the :class:`~ledger.domain.case.Case` of the shared
  :func:`~ledger.domain.case.evolve` plus the few facts reports need that the case state
  does not keep — who did each step and when, ratings with their day and unit, the
  units that held the case, follow-up visits;
- ``records``: every other aggregate (units, officials, letters, accountability
  decisions, receptions, backlog batches, disputes, incidents), its creating event and
  the days its follow-ups happened;
- ``backfill``: entries recorded long after they happened (补录), and how many entries
  each actor and unit recorded per business day (the denominator of the 补录 rate). Every
  entry counts — imports included — except the history of a declared migration: entries
  carrying a migration (``Envelope.migration``) dated before its cut-off.

A migrated step is charged to its original actor (``Envelope.original_actor``, as the source
system states it), not to the operator who imported it.

The fold is deterministic and depends on the events only (not on rules, not on the
clock), so a state folded incrementally equals one folded from zero, and the state of
a log prefix is the state of the ledger as of the prefix's last ``recorded_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from uuid import UUID

import msgspec

from ledger.domain.case import CHINA, Case, evolve
from ledger.domain.ids import aggregate_id
from ledger.domain.records import _mark, key_of
from schemas import events as ev
from schemas.events import AnyEvent, Envelope

BACKFILL_FLOOR = timedelta(hours=24)
"""Entries recorded at least this long after they happened are kept; reports pick a threshold above."""


_CHINA_OFFSET = timedelta(hours=8)
_in_china_time: dict[tzinfo, bool] = {}


def day_of(moment: datetime) -> date:
    """Business day in China, as :func:`ledger.domain.case.business_day` gives it.

    Decoded times carry fixed-offset zones that msgspec shares between values, so whether
    a zone is China time is remembered per zone object instead of converting every time.
    """
    zone = moment.tzinfo
    china = _in_china_time.get(zone)  # type: ignore[arg-type]
    if china is None:
        china = type(zone) is timezone and moment.utcoffset() == _CHINA_OFFSET
        if type(zone) is timezone:
            _in_china_time[zone] = china
    return moment.date() if china else moment.astimezone(CHINA).date()


# ── Per case ─────────────────────────────────────────────────────────────────


class Action(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A step on a case that someone answers for: who, for which unit, on which business day."""

    step: str
    actor: str
    unit: str
    day: date
    target: str | None = None
    """Where the case was sent (route, reassign) or which 督办 was answered."""


class Rated(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A rating (or 超期未评价) with its day and the unit it is charged to."""

    party: str
    rating: str
    day: date
    unit: str


class FollowUp(msgspec.Struct, frozen=True, array_like=True, gc=False):
    day: date
    reached: bool
    verified: bool | None
    onsite: bool
    rectification: bool


class StageChange(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The case entered ``stage`` on business day ``day``."""

    day: date
    stage: str


class CaseFacts(msgspec.Struct, kw_only=True, gc=False):
    """One case: its state and the facts around it.

    The fold replaces its fields in place. Tuples of ``gc=False`` Structs and no reference
    cycles: after the first collection the garbage collector no longer visits any of it,
    which matters with a million events in memory.
    """

    case: Case
    actions: tuple[Action, ...] = ()
    ratings: tuple[Rated, ...] = ()
    units: tuple[str, ...] = ()
    """Units that held the case, in order (a unit appears again if the case came back to it)."""
    leader_on: date | None = None
    follow_ups: tuple[FollowUp, ...] = ()
    stages: tuple[StageChange, ...] = ()
    """Every stage the case entered after 已登记, with its day: what it stood at on any day."""

    @property
    def unit(self) -> str:
        """The responsible unit now, or the registering one before routing."""
        return self.case.current_unit or self.case.registered_by

    def stage_on(self, day: date) -> str:
        """The stage the case stood at at the end of ``day``."""
        return next((change.stage for change in reversed(self.stages) if change.day <= day), "已登记")


def who(envelope: Envelope) -> tuple[str, str]:
    """Who did the step and for which unit: the source system's actor of a migrated step, else the recorder."""
    source = envelope.original_actor
    return (source.official, source.unit) if source is not None else (envelope.actor.id, envelope.actor.unit)


def _actor_step(step: str) -> Callable[[CaseFacts, Envelope, date], None]:
    def record(facts: CaseFacts, envelope: Envelope, day: date) -> None:
        facts.actions += (Action(step, *who(envelope), day, getattr(envelope.event, "to_unit", None)),)

    return record


def _handed(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    target = getattr(envelope.event, "to_unit", None)
    facts.actions += (Action("route", *who(envelope), day, target),)
    if target:
        facts.units += (target,)


def _reassigned(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    e = envelope.event
    assert isinstance(e, ev.JurisdictionObjectionResolved)
    facts.actions += (Action("objection_ruling", *who(envelope), day, e.to_unit),)
    if e.ruling == "异议成立" and e.to_unit:
        facts.units += (e.to_unit,)


def _rated(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    e = envelope.event
    assert isinstance(e, ev.SatisfactionRated | ev.RatingExpired)
    rating = e.rating if isinstance(e, ev.SatisfactionRated) else "超期未评价"
    case = facts.case
    unit = case.registered_by if e.party == "信访部门" else (case.current_unit or case.registered_by)
    facts.ratings += (Rated(e.party, rating, day, unit),)


def _leader(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    if facts.leader_on is None:
        facts.leader_on = day


def _followed(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    e = envelope.event
    assert isinstance(e, ev.FollowUpVisited)
    facts.follow_ups += (FollowUp(day, e.reached, e.satisfaction_verified, e.onsite_check, e.rectification_ordered),)


def _answered(facts: CaseFacts, envelope: Envelope, day: date) -> None:
    e = envelope.event
    assert isinstance(e, ev.SupervisionAnswered)
    facts.actions += (Action("answer", *who(envelope), day, e.order),)


CASE_EXTRAS: dict[type, Callable[[CaseFacts, Envelope, date], None]] = {
    ev.CaseForwarded: _handed,
    ev.CaseAssigned: _handed,
    ev.CaseReferred: _handed,
    ev.PetitionerRedirected: _handed,
    ev.RoutedToStatutoryChannel: _handed,
    ev.CaseAccepted: _actor_step("accept"),
    ev.AcceptanceRefused: _actor_step("refuse"),
    ev.JurisdictionObjected: _actor_step("object"),
    ev.JurisdictionObjectionResolved: _reassigned,
    ev.DecisionIssued: _actor_step("decide"),
    ev.DecisionServed: _actor_step("serve"),
    ev.ReviewDecided: _actor_step("review"),
    ev.ReReviewDecided: _actor_step("rereview"),
    ev.CaseConcluded: _actor_step("conclude"),
    ev.SatisfactionRated: _rated,
    ev.RatingExpired: _rated,
    ev.LeaderAssigned: _leader,
    ev.FollowUpVisited: _followed,
    ev.SupervisionAnswered: _answered,
}
"""Events that add to :class:`CaseFacts` beyond the case state; the rest only evolve the case."""


# ── Other aggregates ─────────────────────────────────────────────────────────


class RecordFacts(msgspec.Struct, kw_only=True, gc=False):
    """A non-case aggregate: its creating event, who recorded it, and when each follow-up happened."""

    kind: str
    key: str
    day: date
    actor: str
    unit: str
    event: AnyEvent  # type: ignore[valid-type]
    done: dict[str, date] = {}
    """Follow-up mark (event type, or ``BacklogCaseResolved:<case>``) → business day."""
    imported: int = 0
    """For a migration: the entries imported under it so far."""


# ── 补录 ─────────────────────────────────────────────────────────────────────


class Late(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """An entry recorded at least :data:`BACKFILL_FLOOR` after it happened (a declared migration's history excluded)."""

    seq: int
    aggregate_id: str
    kind: str
    key: str | None
    """Record key, or the number of a registration; None for later case events (the case knows it)."""
    type: str
    actor: str
    unit: str
    occurred_at: datetime
    recorded_at: datetime


Activity = dict[tuple[str, str, date], int]
"""(actor, unit, business day) → entries recorded (a declared migration's history excluded)."""


# ── The whole state ──────────────────────────────────────────────────────────


class State:
    """The folded state of a log prefix ``[0, size)``; reports read nothing else."""

    __slots__ = ("activity", "cases", "late", "records", "size")

    def __init__(self) -> None:
        self.cases: dict[int, CaseFacts] = {}
        """By ``originator_id.int`` (an int hashes faster than a UUID)."""
        self.records: dict[int, RecordFacts] = {}
        self.late: dict[int, Late] = {}
        self.activity: Activity = {}
        self.size = 0

    def case_by_number(self) -> dict[str, CaseFacts]:
        return {facts.case.number: facts for facts in self.cases.values()}

    def key_of(self, late: Late) -> str:
        """The case number or record key an entry is about."""
        if late.key is not None:
            return late.key
        facts = self.cases.get(UUID(late.aggregate_id).int)
        return facts.case.number if facts is not None else late.aggregate_id


PROJECTIONS: tuple[str, ...] = ("cases", "records", "backfill")
"""The projections the fold feeds: each has its own tables and its own position in the log."""


class Fold:
    """Folds events into a :class:`State`, for the projections named in ``parts``.

    One call per event, with the three parts inlined: this is replay's inner loop. The
    ``touched_*`` sets, ``new_late`` and ``activity_delta`` say what changed since the
    runner last wrote the projections' rows.
    """

    def __init__(self, state: State, parts: tuple[str, ...] = PROJECTIONS) -> None:
        self.parts = tuple(p for p in PROJECTIONS if p in parts)
        self.cases = state.cases
        self.records = state.records
        self.late = state.late
        self.activity = state.activity
        self.fold_cases = "cases" in parts
        self.fold_records = "records" in parts
        self.fold_backfill = "backfill" in parts
        self.touched_cases: set[int] = set()
        self.touched_records: set[int] = set()
        self.new_late: list[Late] = []
        self.activity_delta: Activity = {}
        """Entries counted since the rows were last written: added to the stored counts."""
        self._migrations: dict[str, int] = {}

    def __call__(self, seq: int, envelope: Envelope) -> None:
        e = envelope.event
        occurred = envelope.occurred_at
        day = day_of(occurred)
        if e.aggregate == "case":
            if self.fold_cases:
                oid = envelope.originator_id.int
                facts = self.cases.get(oid)
                if facts is None:
                    case = evolve(None, envelope)
                    self.cases[oid] = CaseFacts(case=case, actions=(Action("register", *who(envelope), case.received_on),))
                else:
                    before = facts.case.stage
                    facts.case = evolve(facts.case, envelope)
                    if facts.case.stage != before:
                        facts.stages += (StageChange(day, facts.case.stage),)
                    extra = CASE_EXTRAS.get(type(e))
                    if extra is not None:
                        extra(facts, envelope, day)
                self.touched_cases.add(oid)
        elif self.fold_records:
            oid = envelope.originator_id.int
            record = self.records.get(oid)
            if record is None:
                actor_id, unit = who(envelope)
                self.records[oid] = RecordFacts(kind=e.aggregate, key=key_of(e), day=day, actor=actor_id, unit=unit, event=e)
            else:
                record.done.setdefault(_mark(e), day)
            self.touched_records.add(oid)
        migration = self._migration(envelope.migration) if envelope.migration is not None else None
        if migration is not None and self.fold_records:
            migration.imported += 1
            self.touched_records.add(self._migrations[envelope.migration])  # type: ignore[index]
        if self.fold_backfill and not (migration is not None and occurred < migration.event.cutoff):
            actor = envelope.actor
            key = (actor.id, actor.unit, day)
            activity = self.activity
            activity[key] = activity.get(key, 0) + 1
            delta = self.activity_delta
            delta[key] = delta.get(key, 0) + 1
            if envelope.recorded_at - occurred >= BACKFILL_FLOOR:
                record_key = key_of(e) if e.key_field is not None else None
                late = Late(seq, str(envelope.originator_id), e.aggregate, record_key, type(e).__name__,
                            actor.id, actor.unit, occurred, envelope.recorded_at)
                self.late[seq] = late
                self.new_late.append(late)

    def _migration(self, code: str) -> RecordFacts | None:
        """The declared migration ``code`` (the records fold has always seen its declaration, which
        comes first in the log; see :mod:`ledger.projections.runner`)."""
        oid = self._migrations.get(code)
        if oid is None:
            oid = self._migrations[code] = aggregate_id("migration", code).int
        return self.records.get(oid)

    def written(self) -> None:
        """The runner wrote everything that changed."""
        self.touched_cases.clear()
        self.touched_records.clear()
        self.new_late.clear()
        self.activity_delta.clear()
