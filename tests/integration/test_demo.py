"""The demo county's year, built through the real command path on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.codec import decode_envelope
from ledger.demo import BACKDATING_UNIT, MIGRATED_UNIT, MIGRATION_BATCH, QUIET_TOWNSHIPS, build_demo
from ledger.domain.case import CHINA
from ledger.errors import InvalidInput
from ledger.log import iter_log
from schemas import events as ev
from schemas.events import EVENTS_BY_NAME, Envelope

NOT_IN_DEMO = {
    "PetitionerIdentityErased": "the demo keeps no petitioner identities in the vault, so there is no key to destroy",
    "IdentityRead": "written by the server when someone reads an identity from the vault, never by a command",
    "PetitionerIdentityRecorded": "written by the server when an identity is stored in the vault, never by a command",
}
"""Event types the demo deliberately leaves out, and why."""

APPRAISAL_DAY = datetime(2022, 1, 10, tzinfo=CHINA)


@dataclass
class Demo:
    summary: DemoSummary
    envelopes: list[Envelope]
    progress_totals: list[int]

    def of(self, event_type: type[ev.Event]) -> list[Any]:
        return [e.event for e in self.envelopes if isinstance(e.event, event_type)]


def build(url: str) -> Demo:
    totals: list[int] = []

    def progress(items: Iterable[Any], total: int) -> Iterable[Any]:
        totals.append(total)
        return items

    summary = build_demo(url, cases=150, seed=3, progress=progress)
    ledger = Ledger(url)
    envelopes = [decode_envelope(row.state) for row in iter_log(ledger.recorder)]  # type: ignore[arg-type]
    ledger.close()
    return Demo(summary, envelopes, totals)


def test_a_year_of_the_demo_county(database_url: str) -> None:
    """One build per engine (they take a while), read back and checked from every side."""
    demo = build(database_url)
    goes_through_the_ledger_without_a_refusal(demo)
    is_recorded_before_the_appraisal_day_and_in_order(demo)
    shows_the_back_dating_township_while_everyone_else_records_at_once(demo)
    carries_the_migration_batch_on_the_migrated_january(demo)
    looks_like_the_reports(demo)


def test_the_demo_is_built_only_in_an_empty_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    build_demo(url, cases=5, seed=3, progress=lambda items, total: items)
    with pytest.raises(InvalidInput, match="空账本"):
        build_demo(url, cases=5, seed=4, progress=lambda items, total: items)


def goes_through_the_ledger_without_a_refusal(demo: Demo) -> None:
    assert demo.summary.refused == 0
    assert demo.summary.events == len(demo.envelopes) == demo.progress_totals[0]
    assert demo.summary.cases == 150 == len(demo.of(ev.PetitionRegistered))
    assert demo.summary.units == len(demo.of(ev.UnitRegistered)) > 60
    assert demo.summary.officials == len(demo.of(ev.OfficialRegistered)) > 50
    written = {type(e.event).__name__ for e in demo.envelopes}
    assert written == set(EVENTS_BY_NAME) - set(NOT_IN_DEMO)


def is_recorded_before_the_appraisal_day_and_in_order(demo: Demo) -> None:
    recorded = [e.recorded_at for e in demo.envelopes]
    assert recorded == sorted(recorded)
    assert recorded[-1] <= APPRAISAL_DAY
    assert all(e.occurred_at <= e.recorded_at for e in demo.envelopes)
    assert [e.command_id for e in demo.envelopes] == [f"demo-3-{n:07d}" for n in range(1, len(demo.envelopes) + 1)]


def shows_the_back_dating_township_while_everyone_else_records_at_once(demo: Demo) -> None:
    def delay(e: Envelope) -> timedelta:
        return e.recorded_at - e.occurred_at

    backdated = [e for e in demo.envelopes if e.actor.unit == BACKDATING_UNIT]
    others = [e for e in demo.envelopes if e.actor.unit != BACKDATING_UNIT and e.batch is None]
    assert backdated
    assert all(delay(e) > timedelta(days=7) for e in backdated)
    assert all(e.batch and e.batch.startswith(f"import-{BACKDATING_UNIT}-") and e.migration is None for e in backdated)
    assert sum(delay(e) < timedelta(days=1) for e in others) >= 0.95 * len(others)


def carries_the_migration_batch_on_the_migrated_january(demo: Demo) -> None:
    def in_january(e: Envelope) -> bool:
        return e.occurred_at.astimezone(CHINA).month == 1

    [declared] = demo.of(ev.MigrationDeclared)
    migrated = [e for e in demo.envelopes if e.migration is not None]
    assert migrated and declared.expected == len(migrated) and declared.migration == MIGRATION_BATCH
    assert {(e.migration, e.batch, e.actor.role) for e in migrated} == {(MIGRATION_BATCH, MIGRATION_BATCH, "admin")}
    assert len({e.recorded_at.astimezone(CHINA).date() for e in migrated}) == 1
    assert all(e.occurred_at < declared.cutoff for e in migrated)
    source_units = [e.original_actor.unit for e in migrated]  # type: ignore[union-attr]
    assert set(source_units) == {MIGRATED_UNIT} and all(in_january(e) for e in migrated)


def looks_like_the_reports(demo: Demo) -> None:
    channels = Counter(p.channel for p in demo.of(ev.PetitionRegistered))
    assert set(channels) == {"网上", "来信", "来电", "传真", "来访"}
    assert channels["网上"] == max(channels.values())
    for party in ("信访部门", "责任单位"):
        rated = [r.rating for r in demo.of(ev.SatisfactionRated) if r.party == party]
        expired = [r for r in demo.of(ev.RatingExpired) if r.party == party]
        assert len(rated) / (len(rated) + len(expired)) > 0.85
        assert sum(r != "不满意" for r in rated) / len(rated) > 0.9
    incidents = demo.of(ev.IncidentRecorded)
    assert {i.kind for i in incidents} == {"越级", "集体", "非正常"}
    assert not {i.township for i in incidents} & set(QUIET_TOWNSHIPS)
    assert [b.name for b in demo.of(ev.BacklogBatchListed)][0] == "中央交办第一批"
    assert all(extension.petitioner_notified for extension in demo.of(ev.DeadlineExtended))
    assert len(demo.of(ev.DisputeResolved)) >= 0.85 * len(demo.of(ev.DisputeFound))
