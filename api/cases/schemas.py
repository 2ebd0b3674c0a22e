"""Wire types of the cases slice (msgspec Structs; the command and view types come from ``schemas``)."""

from __future__ import annotations

from datetime import date
from typing import Union

import msgspec

from schemas.commands import COMMAND_TYPES

CASE_COMMAND_TYPES = tuple(c for c in COMMAND_TYPES if c.event.aggregate == "case" and c.event.key_field is None)
CaseCommand = Union[CASE_COMMAND_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The commands addressed to an existing case (tag ``type``); ``case`` must equal the path's number."""


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One case in a search result."""

    number: str
    version: int
    stage: str
    channel: str
    subject: str
    flags: list[str]
    home_township: str
    registered_by: str
    current_unit: str | None
    leader: str | None
    received_on: date
    overdue: list[str]


class CasePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of cases, newest first; ``total`` counts every match in your scope."""

    total: int
    offset: int
    limit: int
    items: list[CaseSummary]


class OverdueItem(msgspec.Struct, frozen=True, kw_only=True):
    """One missed or running-late time limit of an open case."""

    number: str
    unit: str | None
    stage: str
    step: str
    label: str
    basis: str
    started_on: date
    due: date
    stopped_on: date | None
    days_late: int
    provisional: bool


class UnitCount(msgspec.Struct, frozen=True, kw_only=True):
    unit: str | None
    cases: int
    clocks: int


class OverdueBoard(msgspec.Struct, frozen=True, kw_only=True):
    """超期督办看板：open cases with a time limit past due on ``on``, worst first."""

    on: date
    rules_fingerprint: str
    total_cases: int
    by_unit: list[UnitCount]
    items: list[OverdueItem]
