"""The ledger application on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.application import Ledger
from ledger.errors import Conflict, InvalidInput, NotFound, Refused
from ledger.inputs import decode_command
from support.county import CLERK, HANDLER, START, command


def size(ledger: Ledger) -> int:
    return ledger.recorder.tree_size()  # type: ignore[attr-defined]


def test_a_registered_case_is_numbered_and_can_be_read_back(ledger: Ledger) -> None:
    result = ledger.execute(command("RegisterPetition"), CLERK)
    assert result.key == "2021-000001"
    view = ledger.case_view(result.key)
    assert view.stage == "已登记"
    assert [c.step for c in view.clocks] == ["route"]


def test_numbers_continue_after_a_restart(ledger: Ledger, database_url: str) -> None:
    for _ in range(3):
        ledger.execute(command("RegisterPetition"), CLERK)
    again = Ledger(database_url, clock=lambda: START + timedelta(days=400))
    assert again.execute(command("RegisterPetition"), CLERK).key == "2021-000004"
    again.close()


def test_a_case_is_handled_through_to_archiving(ledger: Ledger) -> None:
    number = ledger.execute(command("RegisterPetition", START), CLERK).key
    steps = ["ForwardCase", "AcceptCase", "RecordInvestigation", "IssueDecision", "ServeDecision"]
    for day, name in enumerate(steps, start=1):
        ledger.execute(command(name, START + timedelta(days=day), case=number), HANDLER)
    ledger.execute(command("RateSatisfaction", START + timedelta(days=7), case=number, party="责任单位"), CLERK)
    ledger.execute(command("ConcludeCase", START + timedelta(days=8), case=number), HANDLER)
    ledger.execute(command("ArchiveCase", START + timedelta(days=9), case=number), CLERK)
    view = ledger.case_view(number)
    assert view.stage == "已归档"
    assert view.ratings == {"责任单位": "满意"}
    assert view.current_unit == "town-a"
    timeline = ledger.timeline(number)
    assert [t.version for t in timeline] == list(range(1, 10))
    assert timeline[1].actor == HANDLER
    assert all(t.seq is not None and t.leaf_hash for t in timeline)


def test_repeating_a_command_id_returns_the_first_result_and_writes_nothing(ledger: Ledger) -> None:
    cmd = command("RegisterPetition")
    first = ledger.execute(cmd, CLERK)
    before = size(ledger)
    again = ledger.execute(cmd, CLERK)
    assert again.repeated and not first.repeated
    assert (again.key, again.version, again.recorded_at) == (first.key, first.version, first.recorded_at)
    assert size(ledger) == before


def test_reusing_a_command_id_for_another_command_is_refused(ledger: Ledger) -> None:
    ledger.execute(command("RegisterPetition", command_id="same-id"), CLERK)
    before = size(ledger)
    with pytest.raises(Conflict) as refused:
        ledger.execute(command("RegisterPetition", command_id="same-id", subject="另一件事"), CLERK)
    assert refused.value.code == "command_id_reused"
    assert size(ledger) == before


def test_a_command_on_a_stale_version_gets_a_conflict_with_the_current_version(ledger: Ledger) -> None:
    number = ledger.execute(command("RegisterPetition"), CLERK).key
    ledger.execute(command("ForwardCase", START + timedelta(days=1), case=number, expected_version=1), CLERK)
    before = size(ledger)
    with pytest.raises(Conflict) as stale:
        ledger.execute(command("AcceptCase", START + timedelta(days=2), case=number, expected_version=1), HANDLER)
    assert stale.value.code == "stale_version"
    assert stale.value.details["current_version"] == 2
    assert size(ledger) == before
    assert ledger.case_view(number).stage == "待受理"


def test_two_writers_deciding_on_the_same_version_cannot_both_win(ledger: Ledger, database_url: str) -> None:
    number = ledger.execute(command("RegisterPetition"), CLERK).key
    other = Ledger(database_url, clock=lambda: START + timedelta(days=400))
    other.case(number)  # both have now seen version 1
    ledger.execute(command("ForwardCase", START + timedelta(days=1), case=number), CLERK)
    before = size(ledger)
    with pytest.raises(Conflict) as lost:
        other.execute(command("RedirectPetitioner",
                              START + timedelta(days=1), case=number, expected_version=1), CLERK)
    other.close()
    assert lost.value.code == "stale_version" and lost.value.details["current_version"] == 2
    assert size(ledger) == before
    assert ledger.case(number).stage == "待受理"


def test_an_unknown_case_is_reported_by_number_and_nothing_is_written(ledger: Ledger) -> None:
    before = size(ledger)
    with pytest.raises(NotFound, match="2021-999999"):
        ledger.execute(command("AcceptCase", case="2021-999999"), HANDLER)
    assert size(ledger) == before


def test_an_unknown_unit_is_refused_by_name(ledger: Ledger) -> None:
    number = ledger.execute(command("RegisterPetition"), CLERK).key
    before = size(ledger)
    with pytest.raises(Refused, match="town-zz"):
        ledger.execute(command("ForwardCase", START + timedelta(days=1), case=number, to_unit="town-zz"), CLERK)
    assert size(ledger) == before


def test_a_business_time_in_the_future_is_refused(ledger: Ledger) -> None:
    before = size(ledger)
    with pytest.raises(Refused, match="晚于当前时间"):
        ledger.execute(command("RegisterPetition", START + timedelta(days=500)), CLERK)
    assert size(ledger) == before


def test_an_event_dated_before_its_case_reached_the_stage_is_refused(ledger: Ledger) -> None:
    number = ledger.execute(command("RegisterPetition", START + timedelta(days=3)), CLERK).key
    with pytest.raises(Refused, match="早于本案进入「已登记」"):
        ledger.execute(command("ForwardCase", START + timedelta(days=1), case=number), CLERK)


def test_an_entry_within_a_stage_may_arrive_late_with_its_true_earlier_date(ledger: Ledger) -> None:
    number = ledger.execute(command("RegisterPetition", START), CLERK).key
    ledger.execute(command("ForwardCase", START + timedelta(days=1), case=number), CLERK)
    ledger.execute(command("AcceptCase", START + timedelta(days=2), case=number), HANDLER)
    ledger.execute(command("OrderSupervision", START + timedelta(days=10), case=number), CLERK)
    ledger.execute(command("RecordInvestigation", START + timedelta(days=5), case=number), HANDLER)  # 补录
    with pytest.raises(Refused, match="早于本案进入「办理中」"):
        ledger.execute(command("RecordInvestigation", START + timedelta(days=1), case=number), HANDLER)
    late = ledger.timeline(number)[-1]
    assert late.recorded_at - late.occurred_at > timedelta(days=300)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b'{"type":"AcceptCase","command_id":"c1","occurred_at":"2021-03-01T09:00:00+08:00","case":"2021-1","x":1}',
         "invalid_command"),
        (b'{"type":"AcceptCase","command_id":"c1","occurred_at":"2021-03-01T09:00:00+08:00","case":7}',
         "invalid_command"),
        (b'{"type":"AcceptCase","command_id":"c1"', "malformed_json"),
    ],
)
def test_bad_input_is_stopped_before_the_ledger(ledger: Ledger, line: bytes, code: str) -> None:
    before = size(ledger)
    with pytest.raises(InvalidInput) as bad:
        ledger.execute(decode_command(line), CLERK)
    assert bad.value.code == code
    assert size(ledger) == before


def test_a_batch_applies_good_commands_and_reports_bad_ones(ledger: Ledger) -> None:
    number = "2021-000100"
    batch = [
        command("RegisterPetition", number=number),
        command("AcceptCase", START + timedelta(days=1), case=number),  # refused: not yet forwarded
        command("ForwardCase", START + timedelta(days=1), case=number),
        command("AcceptCase", START + timedelta(days=2), case=number),
    ]
    before = size(ledger)
    outcomes = list(ledger.execute_many(batch, CLERK, batch="import-test", chunk=2))
    assert [type(o).__name__ for o in outcomes] == ["CommandResult", "Refused", "CommandResult", "CommandResult"]
    assert size(ledger) == before + 3
    assert all(t.batch == "import-test" for t in ledger.timeline(number))
    assert ledger.case_view(number).stage == "办理中"


def test_registering_an_existing_case_number_is_refused(ledger: Ledger) -> None:
    ledger.execute(command("RegisterPetition", number="2021-000009"), CLERK)
    before = size(ledger)
    with pytest.raises(Refused, match="已存在"):
        ledger.execute(command("RegisterPetition", number="2021-000009"), CLERK)
    assert size(ledger) == before


def test_a_chunk_that_loses_a_race_is_retried_command_by_command(ledger: Ledger, database_url: str) -> None:
    rival = Ledger(database_url, clock=lambda: START + timedelta(days=400))
    calls = {"n": 0}

    def clock_that_lets_a_rival_write_first():  # noqa: ANN202
        calls["n"] += 1
        if calls["n"] == 1:  # while our chunk is being decided, another writer takes the same number
            rival.execute(command("RegisterPetition", number="2021-000500", subject="另一位登记员"), CLERK)
        return START + timedelta(days=400)

    ours = Ledger(database_url, clock=clock_that_lets_a_rival_write_first)
    before = size(ours)
    outcomes = list(ours.execute_many(
        [command("RegisterPetition", number="2021-000500"), command("RegisterPetition", number="2021-000501")],
        CLERK,
    ))
    assert isinstance(outcomes[0], Refused) and "已存在" in outcomes[0].message
    assert outcomes[1].key == "2021-000501"  # type: ignore[union-attr]
    assert size(ours) == before + 2  # the rival's registration and our second one
    assert ours.case_view("2021-000500").subject == "另一位登记员"
    rival.close()
    ours.close()
