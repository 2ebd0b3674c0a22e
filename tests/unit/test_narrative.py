"""Every event type says what it says, in Chinese, with names: a meta-test over the whole event table."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest

from ledger.domain.case import CHINA, evolve
from ledger.narrative import SENTENCES, Names, describe
from schemas.commands import COMMAND_FOR_EVENT
from schemas.common import Actor
from schemas.events import EVENT_TYPES, Envelope, Event, OfficialRegistered, PetitionRegistered, UnitRegistered
from support.county import command

NAMES = Names(
    {"xfj": UnitRegistered(code="xfj", name="示范县信访局", kind="部门"),
     "town-a": UnitRegistered(code="town-a", name="甲镇", kind="乡镇")},
    {"head-a": OfficialRegistered(code="head-a", name="镇长甲", unit="town-a", title="镇长"),
     "leader-1": OfficialRegistered(code="leader-1", name="包案领导甲", unit="county", title="副县长")},
)
AT = datetime(2021, 3, 1, 9, tzinfo=CHINA)


def envelope(event: Event, version: int = 1) -> Envelope:
    return Envelope(originator_id=uuid4(), originator_version=version, occurred_at=AT, recorded_at=AT,
                    actor=Actor(id="clerk-1", unit="xfj", role="clerk"), event=event)


def sample(cls: type[Event]) -> Event:
    """An event of type ``cls`` built from the sample command of the test county."""
    addressed = cls.aggregate == "case" and cls.key_field is None
    made = command(COMMAND_FOR_EVENT[cls].__name__, AT, **({"case": "2021-000001"} if addressed else {}))
    fields = {f: getattr(made, f) for f in cls.__struct_fields__}
    if cls.__name__ == "PetitionRegistered":
        fields["number"] = "2021-000001"
    return cls(**fields)


def test_every_event_type_has_a_sentence() -> None:
    assert set(EVENT_TYPES) == set(SENTENCES), "an event type without a sentence in ledger.narrative.SENTENCES"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_sentence_speaks_chinese_with_names_not_codes(cls: type[Event]) -> None:
    case = evolve(None, envelope(sample(PetitionRegistered)))
    text = describe(envelope(sample(cls), 2), NAMES, case)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    assert "town-a" not in text and "xfj" not in text, text  # registered units go by their names
