"""The national baseline: 《信访工作条例》 (C22, in force 2022-05-01) and, before it, the 2005
《信访条例》 (R05, 国务院令第431号, in force 2005-05-01).

Time limits, each in the version of the text in force on the day its clock starts (the
differences, article by article, are in ``docs/plugins/law.md``), the refusal reasons that
must name the earlier item, the flags derived from head counts and destination levels, official holiday schedules loaded from the
rules file, and the 问责建议函 finding for units that repeatedly decide late. It is
registered ``trylast``: a county's plugin is asked first and overrides it.

Thresholds C22 does not fix are configuration (``[plugins.national]``), with the most
common local values as defaults.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec

from ledger.hooks import Case, Finding, HolidaySchedule, IncidentFact, PeriodFacts, TimeLimit, hookimpl
from schemas import events as ev
from schemas.common import Level
from schemas.rules import Milestone

__version__ = "2022.05.01.4"
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


C22 = "《信访工作条例》"
C22_FROM = date(2022, 5, 1)
"""中共中央、国务院《信访工作条例》, in force from 2022-05-01."""
R05 = "《信访条例》"
R05_FROM = date(2005, 5, 1)
"""国务院令第431号《信访条例》 (2005-01-10), in force from 2005-05-01 until C22 replaced it."""


def _both(step: str, label: str, days: int, starts: Milestone, stops: tuple[Milestone, ...], r05: str, c22: str,
          **options: Any) -> list[TimeLimit]:
    """The same limit under both texts: the 2005 version from R05_FROM, the 2022 one from C22_FROM."""
    return [
        TimeLimit(step=step, label=label, days=days, day_type="natural", basis=f"{R05}{r05}", starts=starts,
                  stops=stops, effective_from=R05_FROM, **options),
        TimeLimit(step=step, label=label, days=days, day_type="natural", basis=f"{C22}{c22}", starts=starts,
                  stops=stops, effective_from=C22_FROM, **options),
    ]


TIME_LIMITS: list[TimeLimit] = [
    # R05 art 21 ¶1: the 信访工作机构 routes within 15 days; C22 art 22: the 信访部门, likewise.
    *_both("route", "登记后转送、交办或告知", 15, "received_on", ("routed_on",), "第21条", "第22条"),
    # R05 art 21 ¶2 (转送、交办 items) and art 22 (items received directly): 15 days to decide whether to
    # accept and tell the petitioner in writing; C22 art 23: the same 15 days.
    *_both("accept", "决定是否受理并书面告知", 15, "unit_received_on", ("accepted_on", "refused_on", "routed_away_on"),
           "第21条第2款、第22条", "第23条"),
    # C22 art 23 is the first to give the receiving unit 5 WORKING days to object that the item is outside its
    # remit. R05 has no such window: before 2022-05-01 an objection has no statutory time limit.
    TimeLimit(step="objection", label="提出管辖异议", days=5, day_type="working", basis=f"{C22}第23条",
              starts="unit_received_on", stops=("objected_on",), kind="window", effective_from=C22_FROM),
    # R05 art 33 and C22 art 34: 60 days from acceptance; the head may extend by at most 30 days once,
    # telling the petitioner (R05: 并告知信访人延期理由).
    *_both("decide", "受理后出具处理意见", 60, "accepted_on", ("decided_on",), "第33条", "第34条", extendable=True),
    # R05 art 34 and C22 art 35: 复查 requested within 30 days of the written answer, decided within 30.
    *_both("review_request", "申请复查", 30, "served_on", ("review_requested_on",), "第34条", "第35条", kind="window"),
    *_both("review_decide", "出具复查意见", 30, "review_requested_on", ("review_decided_on",), "第34条", "第35条"),
    # R05 art 35 and C22 art 36: 复核 requested within 30 days, decided within 30; hearing time not counted.
    *_both("rereview_request", "申请复核", 30, "review_decided_on", ("rereview_requested_on",), "第35条", "第36条",
           kind="window"),
    *_both("rereview_decide", "出具复核意见", 30, "rereview_requested_on", ("rereview_decided_on",),
           "第35条（听证时间不计入）", "第36条（听证时间不计入）", paused_by_hearing=True),
]
"""The national limits under the law in force on the day each clock starts (see ``docs/plugins/law.md``)."""

REFUSALS_NAMING_THE_EARLIER_ITEM: dict[str, tuple[str, str]] = {
    "已经受理或者正在办理": (f"{R05}第16条", f"{C22}第23条"),
    "信访人不服复核意见": (f"{R05}第35条", f"{C22}第36条"),
}
"""不予受理 reasons that only hold for a repeat of an earlier item, which the case must name: (R05, C22) basis."""


@hookimpl(trylast=True)
def xinfang_time_limits() -> list[TimeLimit]:
    return TIME_LIMITS


@hookimpl(trylast=True)
def xinfang_calendar(config: Config) -> list[HolidaySchedule]:
    return list(config.schedules)


@hookimpl(trylast=True)
def xinfang_check_command(event: ev.Event, case: Case | None, day: date) -> list[str]:
    if isinstance(event, ev.AcceptanceRefused) and case is not None and case.repeat_of is None:
        bases = REFUSALS_NAMING_THE_EARLIER_ITEM.get(event.reason)
        if bases:
            basis = bases[1] if day >= C22_FROM else bases[0]
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
def xinfang_incident_kinds(incident: IncidentFact, config: Config) -> list[str]:
    """A visit of ``collective_threshold`` persons or more is a 集体访, whatever kind it was recorded as."""
    return ["集体"] if incident.persons >= config.collective_threshold else []


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
