"""Deciding without a database: the command, plain values and an in-memory view of the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.case import ALLOWED_AFTER_BAR, TRANSITIONS
from ledger.domain.decide import Context, Decided, Receipt, Repeated, State, address, decide
from ledger.domain.ids import aggregate_id
from ledger.errors import Conflict, LedgerError, NotFound, Refused
from ledger.rules import RuleSet
from schemas.commands import COMMANDS_BY_NAME, Command
from schemas.common import Actor
from support.county import ADMIN, CASE_COMMANDS, CLERK, HANDLER, START, command, county_setup

NOW = START + timedelta(days=900)
RULES = RuleSet()


class Memory:
    """What storage would answer, as plain values: the state of every aggregate decided so far."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], State] = {}

    def exists(self, kind: str, key: str) -> bool:
        return (kind, key) in self.states

    def state(self, kind: str, key: str) -> State | None:
        return self.states.get((kind, key))

    def run(self, cmd: Command, actor: Actor, *, now: datetime = NOW, number: str | None = None) -> Decided:
        where = address(cmd, number)
        outcome = decide(cmd, actor, self.state(*where), self, RULES, Context(now=now, batch="b-1", number=number))
        assert isinstance(outcome, Decided)
        self.states[where] = outcome.state
        return outcome


@pytest.fixture
def county() -> Memory:
    memory = Memory()
    for cmd in county_setup():
        memory.run(cmd, ADMIN)
    return memory


def registered(memory: Memory, number: str = "2021-000007", **fields: object) -> Decided:
    return memory.run(command("RegisterPetition", START, **fields), CLERK, number=number)


def test_a_registration_takes_the_number_it_is_given_and_the_server_time(county: Memory) -> None:
    decided = registered(county)
    assert decided.result.key == "2021-000007" and decided.result.version == 1
    assert decided.result.aggregate_id == aggregate_id("case", "2021-000007")
    envelope = decided.envelope
    assert (envelope.recorded_at, envelope.occurred_at, envelope.actor, envelope.batch) == (NOW, START, CLERK, "b-1")
    assert decided.state.stage == "已登记"  # type: ignore[union-attr]


def test_the_same_actor_repeating_a_command_gets_the_first_result(county: Memory) -> None:
    cmd = command("RegisterPetition", START)
    first = county.run(cmd, CLERK, number="2021-000007")
    again = decide(cmd, CLERK, None, Memory(), RULES, Context(now=NOW + timedelta(hours=1), receipt=first.receipt))
    assert again == Repeated(msgspec.structs.replace(first.result, repeated=True))
    assert again.result.recorded_at == NOW


@pytest.mark.parametrize(
    "other",
    [
        Actor(id="clerk-2", unit=CLERK.unit, role=CLERK.role),
        Actor(id=CLERK.id, unit="town-a", role=CLERK.role),
        Actor(id=CLERK.id, unit=CLERK.unit, role="admin"),
    ],
    ids=["another-person", "another-unit", "another-role"],
)
def test_another_actor_sending_the_same_command_learns_only_that_its_id_is_taken(county: Memory, other: Actor) -> None:
    cmd = command("RegisterPetition", START)
    first = county.run(cmd, CLERK, number="2021-000007")
    with pytest.raises(Conflict) as refused:
        decide(cmd, other, None, county, RULES, Context(now=NOW, receipt=first.receipt))
    assert refused.value.code == "command_id_reused"
    assert refused.value.message == f"命令编号 {cmd.command_id} 已被另一条命令使用，请为新命令使用新的编号"
    assert refused.value.details == {}


def test_another_command_under_a_used_id_is_refused(county: Memory) -> None:
    first = county.run(command("RegisterPetition", START, command_id="same"), CLERK, number="2021-000007")
    other = command("RegisterPetition", START, command_id="same", subject="另一件事")
    with pytest.raises(Conflict, match="已被另一条命令使用") as refused:
        decide(other, CLERK, None, county, RULES, Context(now=NOW, receipt=first.receipt))
    assert refused.value.code == "command_id_reused"


def test_a_receipt_of_another_shape_is_never_a_repeat(county: Memory) -> None:
    """Receipts stored before they were bound to the actor hash the command alone: they match nobody."""
    cmd = command("RegisterPetition", START)
    first = county.run(cmd, CLERK, number="2021-000007")
    unbound = Receipt("0" * 64, first.result)
    with pytest.raises(Conflict):
        decide(cmd, CLERK, None, county, RULES, Context(now=NOW, receipt=unbound))


@pytest.mark.parametrize(
    ("ahead", "accepted"),
    [(timedelta(minutes=5), True), (timedelta(minutes=5, seconds=1), False)],
)
def test_a_business_time_may_run_five_minutes_ahead_of_the_server(
    county: Memory, ahead: timedelta, accepted: bool
) -> None:
    cmd = command("RegisterPetition", NOW + ahead)
    if accepted:
        assert county.run(cmd, CLERK, number="2021-000001").result.version == 1
        return
    with pytest.raises(Refused, match="晚于当前时间") as refused:
        county.run(cmd, CLERK, number="2021-000001")
    assert refused.value.code == "rule_violation"


def test_a_step_dated_before_the_case_reached_its_stage_is_refused_unless_it_corrects(county: Memory) -> None:
    registered(county)
    county.run(command("ForwardCase", START + timedelta(days=2), case="2021-000007"), CLERK)
    with pytest.raises(Refused, match="早于本案进入「待受理」") as refused:
        county.run(command("AcceptCase", START + timedelta(days=1), case="2021-000007"), HANDLER)
    assert refused.value.code == "rule_violation"
    correction = command("CorrectEvent", START + timedelta(days=1), case="2021-000007", corrects_version=2)
    assert county.run(correction, CLERK).result.version == 3


def test_a_stale_version_is_a_conflict_naming_the_current_one(county: Memory) -> None:
    registered(county)
    county.run(command("ForwardCase", START + timedelta(days=1), case="2021-000007"), CLERK)
    with pytest.raises(Conflict, match="当前版本 2") as stale:
        county.run(command("AcceptCase", START + timedelta(days=2), case="2021-000007", expected_version=1), HANDLER)
    assert (stale.value.code, stale.value.details) == ("stale_version", {"current_version": 2})


def test_an_unknown_unit_is_refused_by_field(county: Memory) -> None:
    registered(county)
    with pytest.raises(Refused, match="town-zz") as refused:
        county.run(command("ForwardCase", START, case="2021-000007", to_unit="town-zz"), CLERK)
    assert (refused.value.code, refused.value.details) == ("unknown_reference", {"field": "to_unit"})


def test_a_step_on_an_unknown_case_is_not_found(county: Memory) -> None:
    with pytest.raises(NotFound) as missing:
        county.run(command("AcceptCase", START, case="2021-999999"), HANDLER)
    assert (missing.value.code, missing.value.details) == ("unknown_case", {"case": "2021-999999"})


def test_a_repeat_of_a_barred_case_cannot_be_accepted(county: Memory) -> None:
    earlier = registered(county, "2021-000001").state
    county.states[("case", "2021-000001")] = msgspec.structs.replace(earlier, barred=True)
    registered(county, "2021-000002", repeat_of="2021-000001")
    county.run(command("ForwardCase", START + timedelta(days=1), case="2021-000002"), CLERK)
    with pytest.raises(Refused, match="案件 2021-000001 的重复信访") as refused:
        county.run(command("AcceptCase", START + timedelta(days=2), case="2021-000002"), HANDLER)
    assert refused.value.code == "rule_violation"


def test_a_unit_cannot_be_registered_twice(county: Memory) -> None:
    with pytest.raises(Refused, match="单位 town-a 已存在") as refused:
        county.run(command("RegisterUnit", START, code="town-a", name="甲镇", kind="乡镇"), ADMIN)
    assert refused.value.code == "illegal_transition"


# ── random command sequences ─────────────────────────────────────────────────

FIELD_CHOICES = {
    "party": ["信访部门", "责任单位"],
    "rating": ["满意", "基本满意", "不满意"],
    "order": ["DB-1", "DB-2"],
    "days": [10, 30],
    "petitioner_notified": [True, False],
    "ruling": ["异议成立", "异议不成立"],
    "to_unit": ["town-a", "town-b"],
    "corrects_version": [1, 3, 12],
}
OTHER_ACTORS = st.builds(
    Actor,
    id=st.sampled_from([HANDLER.id, "handler-b"]),
    unit=st.sampled_from([HANDLER.unit, "town-b"]),
    role=st.sampled_from(["handler", "clerk", "leader"]),
).filter(lambda actor: actor != HANDLER)


@given(data=st.data())
def test_random_commands_follow_the_transition_table_and_receipts_answer_only_their_actor(
    data: st.DataObject,
) -> None:
    county = Memory()
    for cmd in county_setup():
        county.run(cmd, ADMIN)
    registered(county, "H-1")
    day = 0
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        day += data.draw(st.integers(0, 30), label="wait")
        name = data.draw(st.sampled_from(CASE_COMMANDS), label="command")
        fields = {k: data.draw(st.sampled_from(v), label=k) for k, v in FIELD_CHOICES.items()
                  if k in COMMANDS_BY_NAME[name].__struct_fields__}
        cmd = command(name, START + timedelta(days=day), case="H-1", **fields)
        before = county.state("case", "H-1")
        assert before is not None
        inputs = (cmd, HANDLER, before, county, RULES, Context(now=NOW))
        allowed, target = TRANSITIONS[cmd.event]
        try:
            outcome = decide(*inputs)
        except LedgerError as refused:
            if before.stage not in allowed:
                assert refused.code == "illegal_transition", (name, before.stage)
            continue
        assert isinstance(outcome, Decided)
        assert decide(*inputs) == outcome, "the same inputs must give the same decision"
        assert before.stage in allowed and (not before.barred or cmd.event in ALLOWED_AFTER_BAR)
        assert outcome.state.stage == (target or before.stage)  # type: ignore[union-attr]
        assert outcome.envelope.originator_version == before.version + 1 == outcome.state.version
        assert (outcome.envelope.recorded_at, outcome.envelope.actor) == (NOW, HANDLER)
        county.states[("case", "H-1")] = outcome.state

        repeat = decide(cmd, HANDLER, None, Memory(), RULES, Context(now=NOW, receipt=outcome.receipt))
        assert repeat == Repeated(msgspec.structs.replace(outcome.result, repeated=True))
        other = data.draw(OTHER_ACTORS, label="other actor")
        try:
            decide(cmd, other, None, Memory(), RULES, Context(now=NOW, receipt=outcome.receipt))
        except Conflict as reused:
            assert reused.code == "command_id_reused" and reused.details == {}
        else:
            raise AssertionError(f"{other} received {HANDLER}'s result")
