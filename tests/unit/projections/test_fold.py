"""The fold on its own: envelopes in, state out, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.case import CHINA, business_day
from ledger.domain.ids import aggregate_id
from ledger.projections.state import BACKFILL_FLOOR, CaseFacts, Fold, Late, RecordFacts, State, day_of
from schemas import events as ev
from schemas.common import Actor, SourceActor
from schemas.events import Envelope, Event

CLERK = Actor(id="clerk-1", unit="xfj", role="clerk")
HANDLER = Actor(id="handler-a", unit="town-a", role="handler")
ADMIN = Actor(id="admin-1", unit="county", role="admin")
T = datetime(2021, 3, 1, 9, tzinfo=CHINA)


class Log:
    """Envelopes as the ledger would store them, folded as they are added."""

    def __init__(self) -> None:
        self.state = State()
        self.step = Fold(self.state)
        self.versions: dict[object, int] = {}
        self.seq = 0
        self.envelopes: list[Envelope] = []

    def add(self, key: str, event: Event, actor: Actor, day: int, late: timedelta = timedelta(0),
            batch: str | None = None, migration: str | None = None, original_actor: SourceActor | None = None) -> None:
        oid = aggregate_id(event.aggregate, key)
        self.versions[oid] = self.versions.get(oid, 0) + 1
        occurred = T + timedelta(days=day)
        envelope = Envelope(originator_id=oid, originator_version=self.versions[oid], occurred_at=occurred,
                            recorded_at=occurred + late, actor=actor, event=event, batch=batch,
                            migration=migration, original_actor=original_actor)
        self.envelopes.append(envelope)
        self.step(self.seq, envelope)
        self.seq += 1


def test_a_case_keeps_who_did_what_where_it_went_and_how_it_was_rated() -> None:
    log = Log()
    log.add("2021-1", ev.PetitionRegistered(number="2021-1", channel="来访", subject="征地", home_township="town-a"),
            CLERK, 0)
    log.add("2021-1", ev.CaseForwarded(to_unit="town-a"), CLERK, 1)
    log.add("2021-1", ev.JurisdictionObjected(reason="不归我管"), HANDLER, 2)
    log.add("2021-1", ev.JurisdictionObjectionResolved(ruling="异议成立", to_unit="town-b"), CLERK, 3)
    log.add("2021-1", ev.CaseAccepted(), HANDLER, 4)
    log.add("2021-1", ev.DecisionIssued(outcome="支持"), HANDLER, 10)
    log.add("2021-1", ev.DecisionServed(), HANDLER, 11)
    log.add("2021-1", ev.SatisfactionRated(party="责任单位", rating="不满意"), CLERK, 12)
    log.add("2021-1", ev.RatingExpired(party="信访部门"), CLERK, 40)

    (facts,) = log.state.cases.values()
    assert facts.case.stage == "已送达" and facts.case.current_unit == "town-b" and facts.case.version == 9
    assert [(a.step, a.actor, a.day.day) for a in facts.actions] == [
        ("register", "clerk-1", 1), ("route", "clerk-1", 2), ("object", "handler-a", 3),
        ("objection_ruling", "clerk-1", 4), ("accept", "handler-a", 5), ("decide", "handler-a", 11),
        ("serve", "handler-a", 12)]
    assert facts.units == ("town-a", "town-b")
    assert [(r.party, r.rating, r.unit) for r in facts.ratings] == [
        ("责任单位", "不满意", "town-b"), ("信访部门", "超期未评价", "xfj")]


def test_late_entries_are_kept_above_the_floor_and_only_a_declared_migrations_history_is_exempt() -> None:
    log = Log()
    log.add("D-1", ev.DisputeFound(dispute="D-1", township="town-a", subject="邻里"), HANDLER, 0,
            late=BACKFILL_FLOOR - timedelta(minutes=1))
    log.add("D-1", ev.DisputeResolved(dispute="D-1"), HANDLER, 5, late=BACKFILL_FLOOR)
    log.add("D-2", ev.DisputeFound(dispute="D-2", township="town-a", subject="邻里"), HANDLER, 0,
            late=timedelta(days=300), batch="import-1")  # an ordinary import: an entry like any other
    log.add("M-1", ev.MigrationDeclared(migration="M-1", source="旧信访系统", cutoff=T + timedelta(days=10), expected=2),
            ADMIN, 20)
    source = SourceActor(official="old-07", unit="town-a")
    log.add("D-3", ev.DisputeFound(dispute="D-3", township="town-a", subject="邻里"), ADMIN, 1,
            late=timedelta(days=300), migration="M-1", original_actor=source)  # history, before the cut-off
    log.add("D-4", ev.DisputeFound(dispute="D-4", township="town-a", subject="邻里"), ADMIN, 12,
            late=timedelta(days=300), migration="M-1")  # after the cut-off: the ledger refuses it; the fold counts it

    assert [(late.seq, late.key) for late in log.state.late.values()] == [(1, "D-1"), (2, "D-2"), (5, "D-4")]
    assert sum(log.state.activity.values()) == 5  # the migrated history is not an entry
    record = log.state.records[aggregate_id("dispute", "D-1").int]
    assert record.done == {"DisputeResolved": (T + timedelta(days=5)).date()}
    migrated = log.state.records[aggregate_id("dispute", "D-3").int]
    assert (migrated.actor, migrated.unit) == ("old-07", "town-a")  # the source system's actor, not the importer
    assert log.state.records[aggregate_id("migration", "M-1").int].imported == 2


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(-14 * 60, 14 * 60))
def test_the_business_day_is_the_day_in_china_whatever_the_stated_zone(moment: datetime, minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert day_of(aware) == business_day(aware)


def story() -> list[Envelope]:
    """A case that moves between units, is rated, gets entries recorded days late; a dispute; an import."""
    log = Log()
    log.add("2021-1", ev.PetitionRegistered(number="2021-1", channel="来访", subject="征地", home_township="town-a"),
            CLERK, 0)
    log.add("2021-1", ev.CaseForwarded(to_unit="town-a"), CLERK, 1)
    log.add("D-1", ev.DisputeFound(dispute="D-1", township="town-a", subject="邻里"), HANDLER, 1, late=timedelta(days=3))
    log.add("2021-1", ev.JurisdictionObjected(reason="不归我管"), HANDLER, 2)
    log.add("2021-1", ev.JurisdictionObjectionResolved(ruling="异议成立", to_unit="town-b"), CLERK, 3)
    log.add("2021-1", ev.CaseAccepted(), HANDLER, 4, late=timedelta(days=2))
    log.add("D-1", ev.DisputeResolved(dispute="D-1"), HANDLER, 5)
    log.add("2021-2", ev.PetitionRegistered(number="2021-2", channel="网上", subject="社保", home_township="town-b"),
            CLERK, 5, batch="import-1")
    log.add("2021-1", ev.DecisionIssued(outcome="支持"), HANDLER, 10)
    log.add("2021-1", ev.DecisionServed(), HANDLER, 11)
    log.add("2021-1", ev.SatisfactionRated(party="责任单位", rating="不满意"), CLERK, 12, late=timedelta(days=9))
    log.add("2021-1", ev.RatingExpired(party="信访部门"), CLERK, 40)
    return log.envelopes


def fold(state: State, envelopes: list[Envelope], first_seq: int) -> State:
    step = Fold(state)
    for seq, envelope in enumerate(envelopes, start=first_seq):
        step(seq, envelope)
    return state


def stored(state: State) -> State:
    """The state as the runner keeps it between runs: each row's JSON body, read back."""
    again = State()
    again.cases = {k: msgspec.json.decode(msgspec.json.encode(v), type=CaseFacts) for k, v in state.cases.items()}
    again.records = {k: msgspec.json.decode(msgspec.json.encode(v), type=RecordFacts)
                     for k, v in state.records.items()}
    again.late = {k: msgspec.json.decode(msgspec.json.encode(v), type=Late) for k, v in state.late.items()}
    again.activity = dict(state.activity)
    return again


def picture(state: State) -> bytes:
    return msgspec.json.encode([sorted(state.cases.items()), sorted(state.records.items()), sorted(state.late.items()),
                                sorted(state.activity.items())])


@given(st.integers(0, 12))
def test_a_fold_is_independent_of_where_it_is_cut_and_stored(cut: int) -> None:
    envelopes = story()
    whole = fold(State(), envelopes, 0)
    resumed = fold(stored(fold(State(), envelopes[:cut], 0)), envelopes[cut:], cut)
    assert picture(resumed) == picture(whole)
    assert whole.case_by_number()["2021-1"].case.stage == "已送达" and [late.type for late in whole.late.values()] == [
        "DisputeFound", "CaseAccepted", "SatisfactionRated"]  # the import is never late
