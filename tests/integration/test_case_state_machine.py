"""Random legal and illegal command sequences: the stored events always replay to the live state."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.application import Ledger
from ledger.errors import LedgerError
from support.county import ADMIN, CASE_COMMANDS, HANDLER, START, command, county_setup

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
        self.ledger = Ledger(self.url, clock=lambda: START + timedelta(days=900))
        for cmd in county_setup():
            self.ledger.execute(cmd, ADMIN)
        self.day = 0
        self.accepted = 0

    @rule(number=st.sampled_from(NUMBERS))
    def register(self, number: str) -> None:
        self._try(command("RegisterPetition", self._now(), number=number))

    @rule(number=st.sampled_from(NUMBERS), name=st.sampled_from(CASE_COMMANDS), data=st.data(),
          wait=st.integers(0, 40))
    def act(self, number: str, name: str, data: st.DataObject, wait: int) -> None:
        self.day += wait
        extra = {k: data.draw(st.sampled_from(v), label=k) for k, v in FIELD_CHOICES.items()
                 if k in _fields(name)}
        if name == "CorrectEvent":
            extra["corrects_version"] = data.draw(st.integers(1, 12), label="corrects_version")
        self._try(command(name, self._now(), case=number, **extra))

    def _now(self):  # noqa: ANN202
        return START + timedelta(days=self.day, minutes=self.day)

    def _try(self, cmd: object) -> None:
        before = self.ledger.recorder.tree_size()  # type: ignore[attr-defined]
        try:
            self.ledger.execute(cmd, HANDLER)  # type: ignore[arg-type]
        except LedgerError:
            assert self.ledger.recorder.tree_size() == before  # type: ignore[attr-defined]
        else:
            self.accepted += 1
            assert self.ledger.recorder.tree_size() == before + 1  # type: ignore[attr-defined]

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
    from schemas.commands import COMMANDS_BY_NAME

    return COMMANDS_BY_NAME[name].__struct_fields__


CaseMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRandomCommandSequences = CaseMachine.TestCase
