"""The case state machine against the regulation: every move C22 forbids is refused, with a reason,
and writes nothing; every move it allows (and no date rule refuses) is taken, to the right stage.

The oracle is :mod:`support.regulation`, written by hand, not the transition table under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from ledger.application import Ledger
from ledger.domain.case import CHINA, TRANSITIONS
from ledger.errors import Refused
from schemas.commands import COMMAND_FOR_EVENT
from support.county import ADMIN, CASE_COMMANDS, CLERK, HANDLER, STAGE_PATHS, START, case_path, command, county_setup
from support.regulation import GUARDED, MOVES

LATER = START + timedelta(days=20)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One ledger holding one case in every stage (SQLite: built once, refusals write nothing)."""
    app = Ledger(f"sqlite:///{tmp_path_factory.mktemp('staged')}/l.sqlite3", clock=lambda: START + timedelta(days=400))
    for cmd in county_setup():
        app.execute(cmd, ADMIN)
    for index, stage in enumerate(STAGE_PATHS):
        for cmd in case_path(f"S-{index}", stage):
            app.execute(cmd, HANDLER)
    yield app
    app.close()


def forbidden(stage: str) -> list[str]:
    return sorted(set(CASE_COMMANDS) - set(MOVES[stage]))


def test_the_transition_table_covers_every_case_command_and_the_oracle_every_stage() -> None:
    assert {COMMAND_FOR_EVENT[e].__name__ for e in TRANSITIONS} == set(CASE_COMMANDS)
    assert set(MOVES) == set(STAGE_PATHS)
    assert {name for moves in MOVES.values() for name in moves} <= set(CASE_COMMANDS)


@pytest.mark.parametrize(("stage", "name"), [(stage, name) for stage, moves in MOVES.items() for name in moves
                                             if name not in GUARDED])
def test_every_move_the_regulation_allows_is_taken_to_its_stage(staged: Ledger, stage: str, name: str) -> None:
    number = f"M-{list(STAGE_PATHS).index(stage)}-{name}"
    for cmd in case_path(number, stage):
        staged.execute(cmd, HANDLER)
    before = staged.recorder.tree_size()  # type: ignore[attr-defined]
    staged.execute(command(name, LATER, case=number), HANDLER)
    assert staged.recorder.tree_size() == before + 1  # type: ignore[attr-defined]
    assert staged.case(number).stage == (MOVES[stage][name] or stage)


@pytest.mark.parametrize("stage", list(STAGE_PATHS))
def test_every_forbidden_move_from_a_stage_is_refused_and_writes_nothing(staged: Ledger, stage: str) -> None:
    number = f"S-{list(STAGE_PATHS).index(stage)}"
    assert staged.case(number).stage == stage
    before = staged.recorder.tree_size()  # type: ignore[attr-defined]
    moves = forbidden(stage)
    assert moves, f"no forbidden move from {stage}"
    for name in moves:
        with pytest.raises(Refused) as refused:
            staged.execute(command(name, LATER, case=number), HANDLER)
        assert refused.value.code == "illegal_transition", name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    assert staged.recorder.tree_size() == before  # type: ignore[attr-defined]
    assert staged.case(number).stage == stage


def reach(ledger: Ledger, number: str, stage: str) -> None:
    for cmd in case_path(number, stage):
        ledger.execute(cmd, HANDLER)


def refused_without_writing(ledger: Ledger, cmd: object, fragment: str) -> None:
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    with pytest.raises(Refused, match=fragment):
        ledger.execute(cmd, HANDLER)  # type: ignore[arg-type]
    assert ledger.recorder.tree_size() == before  # type: ignore[attr-defined]


def test_a_decision_before_acceptance_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "待受理")
    refused_without_writing(ledger, command("IssueDecision", LATER, case="C1"), "尚未受理")


def test_a_re_review_before_a_review_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "已送达")
    refused_without_writing(ledger, command("RequestReReview", LATER, case="C1"), "尚未复查")


def test_a_second_rating_of_the_same_party_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "已送达")
    ledger.execute(command("RateSatisfaction", LATER, case="C1", party="责任单位", rating="满意"), CLERK)
    refused_without_writing(
        ledger, command("RateSatisfaction", LATER, case="C1", party="责任单位", rating="不满意"), "不能再次评价"
    )
    refused_without_writing(ledger, command("ExpireRating", LATER, case="C1", party="责任单位"), "不能再次评价")
    ledger.execute(command("RateSatisfaction", LATER, case="C1", party="信访部门", rating="基本满意"), CLERK)


def test_a_review_requested_after_thirty_days_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "已送达")  # served on day 4
    served = START + timedelta(days=4)
    refused_without_writing(ledger, command("RequestReview", served + timedelta(days=40), case="C1"), "30日内")
    ledger.execute(command("RequestReview", served + timedelta(days=30), case="C1"), CLERK)


def test_a_review_of_a_case_concluded_without_a_served_decision_is_refused(ledger: Ledger) -> None:
    """Found by the random sequences of tests/unit/test_decide.py: 告知, 办结, 申请复查 crashed."""
    ledger.execute(command("RegisterPetition", START, number="C1"), CLERK)
    ledger.execute(command("RedirectPetitioner", START, case="C1"), CLERK)
    ledger.execute(command("ConcludeCase", START, case="C1"), CLERK)
    refused = "没有送达的处理意见，不能申请复查"
    refused_without_writing(ledger, command("RequestReview", START + timedelta(days=1), case="C1"), refused)


def test_a_re_review_requested_after_thirty_days_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "已复查")  # review decided on day 6
    decided = START + timedelta(days=6)
    refused_without_writing(ledger, command("RequestReReview", decided + timedelta(days=40), case="C1"), "30日内")


def test_an_objection_after_five_working_days_is_refused(database_url: str) -> None:
    """The window is the 2022 《信访工作条例》's (art 23): the case is routed after 2022-05-01."""
    start = datetime(2022, 6, 7, 9, tzinfo=CHINA)
    ledger = Ledger(database_url, clock=lambda: start + timedelta(days=60))
    try:
        for cmd in county_setup():
            ledger.execute(cmd, ADMIN)
        for cmd in case_path("C1", "待受理", start):  # forwarded Wednesday 2022-06-08
            ledger.execute(cmd, HANDLER)
        late = command("ObjectToJurisdiction", start + timedelta(days=9), case="C1")
        refused_without_writing(ledger, late, "5个工作日.*2022-06-15 届满（《信访工作条例》第23条）")
        ledger.execute(command("ObjectToJurisdiction", start + timedelta(days=8), case="C1"), HANDLER)
    finally:
        ledger.close()


def test_a_deadline_is_extended_once_and_only_with_the_petitioner_told(ledger: Ledger) -> None:
    reach(ledger, "C1", "办理中")
    refused_without_writing(ledger, command("ExtendDeadline", LATER, case="C1", petitioner_notified=False), "告知信访人")
    ledger.execute(command("ExtendDeadline", LATER, case="C1", days=30), HANDLER)
    refused_without_writing(ledger, command("ExtendDeadline", LATER, case="C1"), "只能延长一次")
    decide = next(c for c in ledger.case_view("C1").clocks if c.step == "decide")
    assert (decide.due - decide.started_on).days == 90


def test_nothing_but_closing_the_file_is_allowed_after_further_petitions_are_barred(ledger: Ledger) -> None:
    reach(ledger, "C1", "已复核")
    ledger.execute(command("BarFurtherPetitions", LATER, case="C1"), HANDLER)
    refused_without_writing(ledger, command("RequestReview", LATER, case="C1"), "不再受理")
    refused_without_writing(ledger, command("AssignLeader", LATER, case="C1"), "不再受理")
    ledger.execute(command("ConcludeCase", LATER, case="C1"), HANDLER)
    ledger.execute(command("ArchiveCase", LATER, case="C1"), HANDLER)


def test_a_repeat_of_a_barred_matter_is_registered_but_not_accepted(ledger: Ledger) -> None:
    reach(ledger, "C1", "已复核")
    ledger.execute(command("BarFurtherPetitions", LATER, case="C1"), HANDLER)
    ledger.execute(command("RegisterPetition", LATER, number="C2", repeat_of="C1"), CLERK)
    ledger.execute(command("ForwardCase", LATER, case="C2"), CLERK)
    refused_without_writing(ledger, command("AcceptCase", LATER, case="C2"), "不再受理")


def test_bar_before_re_review_is_refused(ledger: Ledger) -> None:
    reach(ledger, "C1", "已办结")
    refused_without_writing(ledger, command("BarFurtherPetitions", LATER, case="C1"), "尚未复核")


def test_a_hearing_pauses_the_re_review_clock(ledger: Ledger) -> None:
    reach(ledger, "C1", "复核中")  # requested on day 7
    ledger.execute(command("StartHearing", START + timedelta(days=10), case="C1"), HANDLER)
    refused_without_writing(ledger, command("DecideReReview", START + timedelta(days=11), case="C1"), "听证尚未结束")
    ledger.execute(command("EndHearing", START + timedelta(days=15), case="C1"), HANDLER)
    clock = next(c for c in ledger.case_view("C1").clocks if c.step == "rereview_decide")
    assert (clock.due - clock.started_on).days == 35


def test_a_supervision_order_is_answered_once(ledger: Ledger) -> None:
    reach(ledger, "C1", "办理中")
    ledger.execute(command("OrderSupervision", LATER, case="C1", order="DB-9"), CLERK)
    refused_without_writing(ledger, command("OrderSupervision", LATER, case="C1", order="DB-9"), "已使用")
    refused_without_writing(ledger, command("AnswerSupervision", LATER, case="C1", order="DB-0"), "没有编号")
    ledger.execute(command("AnswerSupervision", LATER, case="C1", order="DB-9"), HANDLER)
    refused_without_writing(ledger, command("AnswerSupervision", LATER, case="C1", order="DB-9"), "已答复")


def test_a_correction_must_name_an_existing_event(ledger: Ledger) -> None:
    reach(ledger, "C1", "待受理")
    refused_without_writing(ledger, command("CorrectEvent", LATER, case="C1", corrects_version=9), "不存在")
    ledger.execute(command("CorrectEvent", LATER, case="C1", corrects_version=2), CLERK)
