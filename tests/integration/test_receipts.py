"""A command receipt answers only the actor who sent the command: anyone else learns that the id is
taken and nothing more, and nothing is written. On a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from ledger.application import Ledger, result_decoder
from ledger.errors import Conflict
from schemas.commands import Command
from schemas.common import Actor
from support.county import CLERK, START, command

NOW = START + timedelta(days=400)
OTHERS = [
    Actor(id="clerk-2", unit=CLERK.unit, role=CLERK.role),
    Actor(id=CLERK.id, unit="town-a", role=CLERK.role),
    Actor(id=CLERK.id, unit=CLERK.unit, role="admin"),
]
OTHER_IDS = ["another-person", "another-unit", "another-role"]


def stored(ledger: Ledger, cmd: Command) -> tuple[int, tuple[str, bytes] | None]:
    """The log's size and the receipt of ``cmd``: what a refused command must leave alone."""
    return ledger.recorder.tree_size(), ledger.recorder.get_receipt(cmd.command_id)  # type: ignore[attr-defined]


def assert_reveals_nothing(refused: Conflict, cmd: Command, number: str) -> None:
    assert refused.code == "command_id_reused"
    assert refused.message == f"命令编号 {cmd.command_id} 已被另一条命令使用，请为新命令使用新的编号"
    assert number not in refused.message and refused.details == {}


@pytest.mark.parametrize("other", OTHERS, ids=OTHER_IDS)
def test_another_actor_repeating_a_command_learns_nothing_and_writes_nothing(ledger: Ledger, other: Actor) -> None:
    cmd = command("RegisterPetition")
    first = ledger.execute(cmd, CLERK)
    before = stored(ledger, cmd)
    with pytest.raises(Conflict) as refused:
        ledger.execute(cmd, other)
    assert_reveals_nothing(refused.value, cmd, first.key)
    assert stored(ledger, cmd) == before
    again = ledger.execute(cmd, CLERK)
    assert again.repeated and (again.key, again.version) == (first.key, first.version)


@pytest.mark.parametrize("other", OTHERS, ids=OTHER_IDS)
def test_a_batch_from_another_actor_gets_the_same_refusal(ledger: Ledger, other: Actor) -> None:
    cmd = command("RegisterPetition")
    first = ledger.execute(cmd, CLERK)
    before = stored(ledger, cmd)
    fresh = command("RegisterPetition")
    outcomes = list(ledger.execute_many([cmd, fresh], other, batch="import-1"))
    assert isinstance(outcomes[0], Conflict)
    assert_reveals_nothing(outcomes[0], cmd, first.key)
    assert not isinstance(outcomes[1], Conflict) and not outcomes[1].repeated  # type: ignore[union-attr]
    assert stored(ledger, cmd) == (before[0] + 1, before[1])


def rival_writes_first(database_url: str, write: Callable[[Ledger], object]) -> Ledger:
    """A ledger whose first clock reading — after it has looked for a receipt and loaded the
    case, before it saves — lets another process write."""
    rival = Ledger(database_url, clock=lambda: NOW)
    calls = {"n": 0}

    def clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 1:
            write(rival)
            rival.close()
        return NOW

    return Ledger(database_url, clock=clock)


def test_two_actors_racing_with_one_command_id_leave_only_the_first(ledger: Ledger, database_url: str) -> None:
    cmd = command("RegisterPetition")
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    ours = rival_writes_first(database_url, lambda rival: rival.execute(cmd, OTHERS[0]))
    with pytest.raises(Conflict) as lost:
        ours.execute(cmd, CLERK)
    receipt = ours.recorder.get_receipt(cmd.command_id)  # type: ignore[attr-defined]
    ours.close()
    winner = result_decoder.decode(receipt[1])
    assert_reveals_nothing(lost.value, cmd, winner.key)
    assert ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]
    assert ledger.case(winner.key).registered_by == OTHERS[0].unit


def test_one_actor_racing_with_itself_gets_one_result_and_one_repeat(ledger: Ledger, database_url: str) -> None:
    cmd = command("RegisterPetition")
    before = ledger.recorder.tree_size()  # type: ignore[attr-defined]
    ours = rival_writes_first(database_url, lambda rival: rival.execute(cmd, CLERK))
    answer = ours.execute(cmd, CLERK)
    ours.close()
    assert answer.repeated
    assert ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]
    assert ledger.case(answer.key).version == 1
