"""石城县琴江镇：初访事项“速办”机制 (2024).

Source: 改革网《石城县琴江镇：让群众找得到人 说得上话 办得成事》(2024-09-26): for a first-time
item, meet the petitioner at home within 5 days, establish the facts within 7 days and
conclude with a reply within 15 days. These are local targets, not statutory limits: they
appear as ``target`` clocks (warnings) beside the national ones, for 初信初访 only, and as an
indicator, the share of first-time items that met the 15-day target.

The first 调查核实 record (``investigated_on``) is taken as the meeting and the
establishment of facts; the written decision (``decided_on``) as the reply.

A township's rule: ``LOCAL``, so it applies only to the units the rules file names
(``[plugins.qinjiang] units = ["town-qj"]``) and those below them — their cases' clocks,
their figures — and nowhere until some are named.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from ledger.hooks import Indicator, PeriodFacts, TimeLimit, hookimpl
from schemas.rules import DayType, Milestone

__version__ = "2024.1"
LOCAL = True

BASIS = "琴江镇初访事项速办机制"
Days = Annotated[int, msgspec.Meta(ge=1, le=60)]


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[plugins.qinjiang]``."""

    meet_days: Days = 5
    facts_days: Days = 7
    conclude_days: Days = 15
    day_type: DayType = "natural"
    starts: Milestone = "accepted_on"
    """Where the targets start counting: 受理 by default."""
    on_time_target: Annotated[int, msgspec.Meta(ge=0, le=100)] = 90
    """The share (percent) of first-time items that should meet the 15-day target."""


def _targets(config: Config) -> list[TimeLimit]:
    def target(step: str, label: str, days: int, stops: tuple[Milestone, ...]) -> TimeLimit:
        return TimeLimit(step=step, label=label, days=days, day_type=config.day_type, basis=BASIS,
                         starts=config.starts, stops=stops, kind="target", first_time_only=True)

    return [
        target("speedy_meet", "初访速办：上户与信访人见面", config.meet_days, ("investigated_on", "decided_on")),
        target("speedy_facts", "初访速办：查清事实依据", config.facts_days, ("investigated_on", "decided_on")),
        target("speedy_conclude", "初访速办：办结答复", config.conclude_days, ("decided_on",)),
    ]


@hookimpl
def xinfang_time_limits(config: Config) -> list[TimeLimit]:
    return _targets(config)


@hookimpl
def xinfang_indicators(facts: PeriodFacts, config: Config) -> list[Indicator]:
    """初访速办按期办结率 per responsible unit and overall: targets due in the period, met ÷ all."""
    tally: dict[str | None, list[int]] = {None: [0, 0]}
    for case in facts.cases:
        clock = next((c for c in case.clocks if c.step == "speedy_conclude"), None)
        if clock is None or clock.due not in facts.period or (clock.stopped_on is None and clock.due >= facts.reference_day):
            continue  # not due in the period, or still within its days
        for key in {None, case.unit}:
            counts = tally.setdefault(key, [0, 0])
            counts[0] += not clock.overdue
            counts[1] += 1
    return [
        Indicator(key="qinjiang.speedy_on_time", label="初访速办按期办结率", unit=unit,
                  numerator=met, denominator=due, basis=BASIS, target_percent=config.on_time_target)
        for unit, (met, due) in sorted(tally.items(), key=lambda kv: kv[0] or "")
    ]
