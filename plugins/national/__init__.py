"""The national baseline: 《信访工作条例》 (C22, in force 2022-05-01).

Time limits, the refusal reasons that must name the earlier item, the flags derived
from head counts and destination levels, official holiday schedules loaded from the
rules file, and the 问责建议函 finding for units that repeatedly decide late. It is
registered ``trylast``: a county's plugin is asked first and overrides it.

Thresholds C22 does not fix are configuration (``[plugins.national]``), with the most
common local values as defaults.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from ledger.hooks import Case, Finding, HolidaySchedule, IncidentFact, PeriodFacts, TimeLimit, hookimpl
from schemas import events as ev
from schemas.common import Level

__version__ = "2022.05.01.2"
"""C22 date, then a revision: any change to what the plugin answers bumps the revision (and so the fingerprint)."""


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[plugins.national]``."""

    collective_threshold: Annotated[int, msgspec.Meta(ge=2)] = 5
    """集体访: this many persons or more [local; C22 art 20 caps representatives at 5]."""
    skip_levels: tuple[Level, ...] = ("市", "省", "京")
    """Destination levels that make an incident on a case 越级 [local]."""
    overdue_for_letter: Annotated[int, msgspec.Meta(ge=1)] = 2
    """A unit that misses this many decision deadlines in a period qualifies for a 问责建议函 [local]."""
    overdue_steps: tuple[str, ...] = ("decide", "review_decide", "rereview_decide")
    """Which deadlines count as decision deadlines."""
    schedules: tuple[HolidaySchedule, ...] = ()
    """Official holiday schedules for years the built-in calendar lacks (``[[plugins.national.schedules]]``)."""


TIME_LIMITS = [
    TimeLimit(step="route", label="登记后转送、交办或告知", days=15, day_type="natural",
              basis="C22 第22条", starts="received_on", stops=("routed_on",)),
    TimeLimit(step="accept", label="决定是否受理并书面告知", days=15, day_type="natural",
              basis="C22 第23条", starts="routed_on", stops=("accepted_on", "refused_on", "routed_away_on")),
    TimeLimit(step="objection", label="提出管辖异议", days=5, day_type="working",
              basis="C22 第23条", starts="routed_on", kind="window"),
    TimeLimit(step="decide", label="受理后出具处理意见", days=60, day_type="natural",
              basis="C22 第34条", starts="accepted_on", stops=("decided_on",), extendable=True),
    TimeLimit(step="review_request", label="申请复查", days=30, day_type="natural",
              basis="C22 第35条", starts="served_on", kind="window"),
    TimeLimit(step="review_decide", label="出具复查意见", days=30, day_type="natural",
              basis="C22 第35条", starts="review_requested_on", stops=("review_decided_on",)),
    TimeLimit(step="rereview_request", label="申请复核", days=30, day_type="natural",
              basis="C22 第36条", starts="review_decided_on", kind="window"),
    TimeLimit(step="rereview_decide", label="出具复核意见", days=30, day_type="natural",
              basis="C22 第36条（听证时间不计入）", starts="rereview_requested_on",
              stops=("rereview_decided_on",), paused_by_hearing=True),
]

REFUSALS_NAMING_THE_EARLIER_ITEM: dict[str, str] = {
    "已经受理或者正在办理": "C22 第23条",
    "信访人不服复核意见": "C22 第36条",
}
"""不予受理 reasons that only hold for a repeat of an earlier item, which the case must name."""


@hookimpl(trylast=True)
def xinfang_time_limits() -> list[TimeLimit]:
    return TIME_LIMITS


@hookimpl(trylast=True)
def xinfang_calendar(config: Config) -> list[HolidaySchedule]:
    return list(config.schedules)


@hookimpl(trylast=True)
def xinfang_check_command(event: ev.Event, case: Case | None, day: date) -> list[str]:
    if isinstance(event, ev.AcceptanceRefused) and case is not None and case.repeat_of is None:
        basis = REFUSALS_NAMING_THE_EARLIER_ITEM.get(event.reason)
        if basis:
            return [f"以「{event.reason}」不予受理，须在登记时注明所重复的原信访事项（repeat_of）（{basis}）"]
    return []


@hookimpl(trylast=True)
def xinfang_case_flags(case: Case, incidents: list[IncidentFact], config: Config) -> list[str]:
    flags = []
    if case.persons >= config.collective_threshold or any(
        i.kind == "集体" or i.persons >= config.collective_threshold for i in incidents
    ):
        flags.append("集体")
    if any(i.level in config.skip_levels or i.kind == "越级" for i in incidents):
        flags.append("越级")
    if any(i.kind == "非正常" for i in incidents):
        flags.append("非正常")
    return flags


@hookimpl(trylast=True)
def xinfang_accountability(facts: PeriodFacts, config: Config) -> list[Finding]:
    findings = []
    for unit in facts.units:
        late = [o for o in unit.overdue if o.clock.step in config.overdue_steps]
        if len(late) >= config.overdue_for_letter:
            cases = sorted({o.case for o in late})
            findings.append(Finding(
                unit=unit.unit,
                recommendation="问责建议函",
                grounds=f"{unit.name}在{facts.period.label}期间 {len(late)} 次超期出具处理、复查或复核意见"
                        f"（{'、'.join(cases)}），属拖延办理",
                cases=cases,
                basis="C22 第40条、第45条",
            ))
    return findings
