"""Properties of the fold, for random command sequences (SQLite):

- projections caught up bit by bit equal projections rebuilt from zero (rows and reports);
- a report as of any time equals the same report on a copy of the ledger truncated there.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.errors import LedgerError
from ledger.facts import parse_period
from ledger.projections.reports import Inputs, encode, make_report
from ledger.projections.runner import Projector
from schemas.commands import Command
from schemas.common import Actor
from support.county import CLERK, HANDLER, START, command
from support.projections import County, table_rows, truncated_copy

T0 = START + timedelta(days=30)
STEP = timedelta(hours=6)
PERIOD = parse_period("2021")
OTHER = Actor(id="handler-b", unit="town-b", role="handler")

CASE_MOVES = [
    ("ForwardCase", {}), ("AssignCase", {"to_unit": "town-b", "report_due": date(2021, 4, 20)}),
    ("RedirectPetitioner", {}), ("AcceptCase", {}), ("RefuseAcceptance", {}), ("ObjectToJurisdiction", {}),
    ("ResolveJurisdictionObjection", {"ruling": "异议成立", "to_unit": "town-b"}), ("RecordInvestigation", {}),
    ("IssueDecision", {}), ("ServeDecision", {}), ("RateSatisfaction", {"party": "信访部门"}),
    ("RateSatisfaction", {"party": "责任单位", "rating": "不满意"}), ("ExpireRating", {"party": "责任单位"}),
    ("ConcludeCase", {}), ("ArchiveCase", {}), ("AssignLeader", {}), ("RecordFollowUp", {"reached": False}),
    ("RequestReview", {}), ("DecideReview", {}),
]
RECORD_MOVES = ["RecordDispute", "MediateDispute", "ResolveDispute", "RecordIncident", "HoldLeaderReception",
                "IssueRecommendation", "AnswerRecommendation", "DecideAccountability"]

moves = st.one_of(
    st.tuples(st.just("register"), st.integers(0, 4), st.sampled_from([0, 1, 80, 400])),
    st.tuples(st.sampled_from(range(len(CASE_MOVES))), st.integers(0, 4), st.sampled_from([0, 2, 30, 200, 900])),
    st.tuples(st.sampled_from(RECORD_MOVES), st.integers(0, 2), st.sampled_from([0, 50, 500])),
    st.tuples(st.sampled_from(["supervise", "answer"]), st.integers(0, 4), st.sampled_from([0, 3])),
)


def to_command(move: tuple[object, int, int], k: int) -> tuple[Command, Actor, str | None]:
    kind, n, hours_late = move
    occurred = T0 + k * STEP - timedelta(hours=hours_late)
    number = f"2021-{n:06d}"
    if kind == "register":
        return command("RegisterPetition", occurred, number=number), CLERK, "import-1" if hours_late == 400 else None
    if kind == "supervise":
        return command("OrderSupervision", occurred, case=number, order=f"DB-{n}", to_unit="town-a",
                       reply_due=(occurred + timedelta(days=3)).date()), CLERK, None
    if kind == "answer":
        return command("AnswerSupervision", occurred, case=number, order=f"DB-{n}"), HANDLER, None
    if isinstance(kind, int):
        name, fields = CASE_MOVES[kind]
        return command(name, occurred, case=number, **fields), HANDLER if n % 2 else OTHER, None
    keys = {"RecordDispute": {"dispute": f"D-{n}"}, "MediateDispute": {"dispute": f"D-{n}"},
            "ResolveDispute": {"dispute": f"D-{n}"}, "RecordIncident": {"incident": f"I-{k}"},
            "HoldLeaderReception": {"session": f"JF-{k}"}, "IssueRecommendation": {"letter": f"L-{n}",
                                                                                   "reply_due": date(2021, 4, 5)},
            "AnswerRecommendation": {"letter": f"L-{n}"},
            "DecideAccountability": {"decision": f"WZ-{k}", "official": "head-a", "cases": []}}
    return command(str(kind), occurred, **keys[str(kind)]), CLERK, None


def reports(projector: Projector, as_of: datetime | None = None) -> list[bytes]:
    return [encode(make_report(projector, name, Inputs(period=PERIOD, as_of=as_of, unit=unit)))
            for name in ("board", "accountability", "indicators") for unit in (None, "town-a")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(moves, min_size=5, max_size=45), checkpoints=st.sets(st.integers(0, 45), max_size=4),
       cut=st.floats(0, 1))
def test_incremental_equals_rebuild_and_as_of_equals_truncation(
    steps: list[tuple[object, int, int]], checkpoints: set[int], cut: float,
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        county = County(f"sqlite:///{directory}/ledger.sqlite3")
        projector = county.projector()
        recorded: list[datetime] = []
        for k, move in enumerate(steps):
            county.now = T0 + k * STEP
            cmd, actor, batch = to_command(move, k)
            try:
                county.ledger.execute(cmd, actor, batch=batch)
            except LedgerError:
                pass  # an illegal move for the case as it stands: refused, nothing written
            recorded.append(county.now)
            if k in checkpoints:
                projector.catch_up()

        incremental = reports(projector)  # catches up what the checkpoints left
        incremental_rows = table_rows(projector)
        projector.rebuild()
        assert table_rows(projector) == incremental_rows
        assert reports(projector) == incremental

        as_of = recorded[int(cut * (len(recorded) - 1))] + timedelta(minutes=1)
        size = projector.size_as_of(as_of)
        print("SIZES", county.size(), size, len(steps))
        copy_url = truncated_copy(county.url, size, Path(directory))
        copy = Ledger(copy_url, clock=lambda: county.now)
        try:
            copied = Projector.of(copy)
            assert copied.tree_size() == size
            assert reports(copied, as_of) == reports(projector, as_of)
        finally:
            copy.close()
            county.close()
