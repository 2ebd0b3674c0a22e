"""Every event and command type: a Chinese name, a JSON round trip, and a published schema."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import msgspec
import pytest

from ledger.domain.case import CHINA
from schemas import commands, events
from support.county import CASE_COMMANDS, command

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("cls", events.EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_event_type_has_a_chinese_name(cls: type) -> None:
    assert CHINESE.search(events.chinese_name(cls)), cls.__doc__


@pytest.mark.parametrize("cls", commands.COMMAND_TYPES, ids=lambda c: c.__name__)
def test_every_command_type_has_a_chinese_name(cls: type) -> None:
    assert CHINESE.search(events.chinese_name(cls)), cls.__doc__


@pytest.mark.parametrize("name", sorted(commands.COMMANDS_BY_NAME))
def test_every_command_survives_a_json_round_trip(name: str) -> None:
    extra = {"case": "2021-000001"} if name in CASE_COMMANDS else {}
    original = command(name, **extra)
    decoded = commands.command_decoder.decode(msgspec.json.encode(original))
    assert decoded == original
    assert type(decoded).__name__ == name


@pytest.mark.parametrize("name", sorted(commands.COMMANDS_BY_NAME))
def test_every_event_survives_a_round_trip_inside_an_envelope(name: str) -> None:
    cmd = command(name, **({"case": "2021-000001"} if name in CASE_COMMANDS else {}))
    fields = {f: getattr(cmd, f) for f in cmd.event.__struct_fields__ if hasattr(cmd, f)}
    if name == "RegisterPetition":
        fields["number"] = "2021-000001"
    event = cmd.event(**fields)
    envelope = events.Envelope(
        originator_id=__import__("uuid").uuid4(),
        originator_version=3,
        occurred_at=datetime(2021, 5, 1, 9, tzinfo=CHINA),
        recorded_at=datetime(2021, 5, 1, 9, 5, tzinfo=CHINA),
        actor={"id": "a", "unit": "u", "role": "clerk"},  # type: ignore[arg-type]
        event=event,
    )
    data = msgspec.json.encode(envelope)
    back = msgspec.json.decode(data, type=events.Envelope)
    assert back.event == event
    assert back.recorded_at - back.occurred_at == timedelta(minutes=5)


def test_each_command_produces_a_distinct_event_type() -> None:
    produced = [c.event for c in commands.COMMAND_TYPES]
    assert len(set(produced)) == len(produced) == len(events.EVENT_TYPES)


def test_unknown_fields_wrong_types_and_naive_times_are_rejected() -> None:
    good = {"type": "AcceptCase", "command_id": "c1", "occurred_at": "2021-03-01T09:00:00+08:00", "case": "2021-1"}
    assert commands.command_decoder.decode(msgspec.json.encode(good)).case == "2021-1"
    for bad, fragment in [
        ({**good, "extra": 1}, "unknown field"),
        ({**good, "case": 5}, "Expected `str`"),
        ({**good, "occurred_at": "2021-03-01T09:00:00"}, "timezone"),
        ({**good, "type": "DeleteEverything"}, "Invalid value"),
    ]:
        with pytest.raises(msgspec.ValidationError, match=fragment):
            commands.command_decoder.decode(msgspec.json.encode(bad))


@pytest.mark.parametrize("union", [events.AnyEvent, commands.AnyCommand], ids=["events", "commands"])
def test_the_json_schema_names_every_type(union: object) -> None:
    schema = msgspec.json.schema(union)
    names = set(schema["$defs"])
    expected = events.EVENT_TYPES if union is events.AnyEvent else commands.COMMAND_TYPES
    assert {cls.__name__ for cls in expected} <= names


def test_dates_in_events_are_plain_calendar_days() -> None:
    event = events.CaseAssigned(to_unit="town-a", report_due=date(2021, 4, 30))
    assert b'"report_due":"2021-04-30"' in msgspec.json.encode(event)


def test_chinese_names_are_bare_names_without_sentence_punctuation() -> None:
    names = [events.chinese_name(cls) for cls in (*events.EVENT_TYPES, *commands.COMMAND_TYPES)]
    assert not [n for n in names if any(mark in n for mark in "。：，")]
    assert events.chinese_name(events.CaseArchived) == "归档"
