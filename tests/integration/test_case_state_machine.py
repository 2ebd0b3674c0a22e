"""Random legal and illegal command sequences against the regulation's table.

The machine keeps its own model of each case (:mod:`support.regulation`, written by hand): a move
the regulation forbids must be refused as an illegal transition; a legal move no date or history
rule can refuse must be taken; either way the case's stage must be the model's, nothing is written
by a refusal, and the stored events replay to the live state.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.application import Ledger
from ledger.errors import LedgerError
from schemas.commands import COMMANDS_BY_NAME
from support.county import ADMIN, CASE_COMMANDS, HANDLER, START, command, county_setup
from support.regulation import AFTER_BAR, GUARDED, MOVES

NUMBERS = ["H-1", "H-2", "H-3"]
FIELD_CHOICES = {
    "party": ["信访部门", "责任单位"],
    "rating": ["满意", "基本满意", "不满意"],
    "order": ["DB-1", "DB-2"],
    "days": [10, 30],
    "petitioner_notified": [True, False],
    "ruling": ["异议成立", "异议不成立"],
    "to_unit": ["town-a", "town-b"],
}


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.url = f"sqlite:///{Path(self.folder.name) / 'l.sqlite3'}"
        self.ledger = Ledger(self.url, clock=lambda: START + timedelta(days=9000))  # past every step a run may wait to
        for cmd in county_setup():
            self.ledger.execute(cmd, ADMIN)
        self.day = 0
        self.accepted = 0
        self.stage: dict[str, str] = {}
        """The model: each registered case's stage, as the regulation's table moves it."""
        self.barred: set[str] = set()

    @rule(number=st.sampled_from(NUMBERS))
    def register(self, number: str) -> None:
        taken = self._try(command("RegisterPetition", self._now(), number=number))
        assert taken == (number not in self.stage), f"registering {number} twice must be refused, once taken"
        self.stage.setdefault(number, "已登记")

    @rule(number=st.sampled_from(NUMBERS), name=st.sampled_from(CASE_COMMANDS), data=st.data(),
          wait=st.integers(0, 40))
    def act(self, number: str, name: str, data: st.DataObject, wait: int) -> None:
        self.day += wait
        extra = {k: data.draw(st.sampled_from(v), label=k) for k, v in FIELD_CHOICES.items()
                 if k in _fields(name)}
        if name == "CorrectEvent":
            extra["corrects_version"] = data.draw(st.integers(1, 12), label="corrects_version")
        for due in ("report_due", "reply_due"):  # due dates a month after the order, as a clerk sets them
            if due in _fields(name):
                extra[due] = (self._now() + timedelta(days=30)).date()
        taken = self._try(command(name, self._now(), case=number, **extra))
        if number not in self.stage:
            assert self.refused == "unknown_case", (name, self.refused)
            return
        stage = self.stage[number]
        legal = name in MOVES[stage] and (number not in self.barred or name in AFTER_BAR)
        if not legal:
            assert self.refused == "illegal_transition", f"{name} in {stage}: the regulation forbids it"
        elif name not in GUARDED:
            assert taken, f"{name} in {stage}: the regulation allows it, yet refused ({self.refused})"
        else:
            assert taken or self.refused != "illegal_transition", f"{name} in {stage} is a legal move"
        if taken:
            self.stage[number] = MOVES[stage][name] or stage
            if name == "BarFurtherPetitions":
                self.barred.add(number)
        assert self.ledger.case(number).stage == self.stage[number]

    def _now(self):  # noqa: ANN202
        return START + timedelta(days=self.day, minutes=self.day)

    def _try(self, cmd: object) -> bool:
        """Whether ``cmd`` was taken; ``self.refused`` says why not."""
        before = self.ledger.recorder.tree_size()  # type: ignore[attr-defined]
        self.refused: str | None = None
        try:
            self.ledger.execute(cmd, HANDLER)  # type: ignore[arg-type]
        except LedgerError as exc:
            self.refused = exc.code
            assert self.ledger.recorder.tree_size() == before  # type: ignore[attr-defined]
            return False
        self.accepted += 1
        assert self.ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]
        return True

    @precondition(lambda self: self.accepted > 0)
    @invariant()
    def replay_equals_live_state(self) -> None:
        fresh = Ledger(self.url, env={"AGGREGATE_CACHE_MAXSIZE": ""})
        try:
            for number in NUMBERS:
                assert fresh.state("case", number) == self.ledger.state("case", number)
        finally:
            fresh.close()

    def teardown(self) -> None:
        self.ledger.close()
        self.folder.cleanup()


def _fields(name: str) -> tuple[str, ...]:
    return COMMANDS_BY_NAME[name].__struct_fields__


CaseMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRandomCommandSequences = CaseMachine.TestCase
