"""Hook specifications for rule plugins (pluggy project ``xinfang``).

A rule plugin is a module (or object) registered in the ``xinfang.plugins`` entry-point
group. It implements some of the hooks below with ``@hookimpl`` and may declare a
``Config`` msgspec Struct: the rules host validates the plugin's ``[plugins.<name>]``
table of the rules file against it and passes the result to every hook as ``config``
(``None`` when the plugin has no ``Config``). A ``__version__`` string, if present,
names the rules' version; otherwise the distribution's version is used. Both go into
the rule-set fingerprint.

Every hook is prefixed ``xinfang_``. A hook implementation takes any subset of the
arguments its spec lists, by name. Answer ``None`` (or nothing) to say nothing. The
built-in national baseline (plugin ``national``) is registered ``trylast``: a county's
plugin is called first, so where only one answer counts (a time limit's step, a year's
holiday schedule) the county's wins.

Plugins only read and derive; they never write events. Only
:class:`ledger.rules.RuleSet` calls these hooks: it checks each answer's type and names
the plugin in the error when one raises or answers wrongly.

Plugins import from here and from ``schemas`` only; the names re-exported below are
what the hooks hand to them or expect back. Each hook has a page in
``docs/plugins/hooks/``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pluggy

from ledger.domain.case import Case
from schemas.events import Event
from schemas.facts import CaseFact, IncidentFact, OverdueClock, Period, PeriodFacts, UnitFacts
from schemas.rules import AwardFailure, AwardVerdict, Finding, HolidaySchedule, Indicator, TimeLimit

__all__ = [
    "PROJECT",
    "AwardFailure",
    "AwardVerdict",
    "Case",
    "CaseFact",
    "Event",
    "Finding",
    "HolidaySchedule",
    "IncidentFact",
    "Indicator",
    "OverdueClock",
    "Period",
    "PeriodFacts",
    "TimeLimit",
    "UnitFacts",
    "hookimpl",
    "hookspec",
]

PROJECT = "xinfang"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def xinfang_time_limits(config: Any) -> list[TimeLimit]:
    """The clocks events start, pause, extend and stop: time limits this plugin defines or overrides.

    Returns a list of :class:`schemas.rules.TimeLimit`. Each names the case milestone that
    starts it (``starts``), the milestones that stop it (``stops``, the first one reached
    wins), its length and day type (``natural`` or ``working``, on the rule set's calendar),
    its legal basis, and whether an approved extension (``extendable``) or re-review
    hearing days (``paused_by_hearing``) push it back. ``kind`` says what missing it means:
    ``duty`` (the office is late, 超期), ``window`` (a request after it is refused) or
    ``target`` (a local goal, shown as a warning beside the statutory limits).
    ``first_time_only`` limits apply to 初信初访 only.

    A step may come in versions with the day each applies from (``effective_from``): a clock
    follows the version in force on the day it starts and cites its basis. When several
    plugins define the same ``step``, the first answer in force wins: local plugins are called
    before the national baseline, so they override it step by step, from their own dates.

    Example::

        @hookimpl
        def xinfang_time_limits(config):
            return [TimeLimit(step="accept_target", label="受理目标", days=7, day_type="natural",
                              basis="本县规定", starts="routed_on",
                              stops=("accepted_on", "refused_on"), kind="target")]
    """


@hookspec
def xinfang_calendar(config: Any) -> list[HolidaySchedule]:
    """Official holiday schedules for years the built-in calendar does not know.

    Returns a list of :class:`schemas.rules.HolidaySchedule` (one per year: rest days,
    调休 make-up workdays, the notice it comes from). The working-day calendar of the rule
    set loads them; a year no schedule covers is counted Monday to Friday and every
    deadline that depends on it is flagged provisional. When two plugins give the same
    year, the first answer (the local plugin's) wins.

    Example::

        @hookimpl
        def xinfang_calendar(config):
            return [HolidaySchedule(year=2027, basis="国办发明电〔2026〕X号",
                                    holidays=[date(2027, 1, 1)], workdays=[])]
    """


@hookspec
def xinfang_check_command(event: Event, case: Case | None, day: date, config: Any) -> list[str]:
    """Extra checks on a command: reasons to refuse the event it would record.

    Called after the core's own checks for every command, with the event it would
    record (a :mod:`schemas.events` Struct), the case it applies to as it stands now
    (``None`` for a registration or an event of another aggregate) and the business day
    (China time) it is said to have happened. Returns a list of reasons, in Chinese, each
    one a sentence the clerk can act on and naming its legal basis; an empty list (or
    ``None``) lets it through. Any reason refuses the command with code ``plugin_rule``:
    nothing is written.

    Example::

        @hookimpl
        def xinfang_check_command(event, case, day, config):
            if isinstance(event, DecisionIssued) and event.outcome == "不支持" and not event.note:
                return ["不支持的处理意见须写明理由（本县规定）"]
            return []
    """


@hookspec
def xinfang_case_flags(case: Case, incidents: list[IncidentFact], config: Any) -> list[str]:
    """Flags derived from a registered case: 集体 over a head-count threshold, 越级 by destination level.

    ``case`` is the case's state; ``incidents`` are the incidents recorded against it
    (:class:`schemas.facts.IncidentFact`, each with its destination level and head count;
    empty when only the case is at hand, as in the case view). Returns flags out of
    :data:`schemas.common.Flag` (集体, 越级, 非正常, 涉法涉诉, 检举, 紧急). They are added to the
    flags the registrar stated; every plugin's flags count.

    Example::

        @hookimpl
        def xinfang_case_flags(case, incidents, config):
            flags = ["集体"] if case.persons >= config.collective_threshold else []
            if any(i.level in ("市", "省", "京") for i in incidents):
                flags.append("越级")
            return flags
    """


@hookspec
def xinfang_incident_kinds(incident: IncidentFact, config: Any) -> list[str]:
    """Kinds an incident counts as besides the one recorded: a 越级 visit of 5 or more persons is 集体 too.

    ``incident`` is an :class:`schemas.facts.IncidentFact` (recorded ``kind``, destination
    ``level``, head count ``persons``). Returns kinds out of :data:`schemas.common.IncidentKind`
    (越级, 集体, 非正常, 极端). Every plugin's kinds count; the period facts list them, with the
    recorded one first, in ``IncidentFact.kinds``, and award criteria match on any of them.

    Example::

        @hookimpl
        def xinfang_incident_kinds(incident, config):
            return ["集体"] if incident.persons >= config.collective_threshold else []
    """


@hookspec
def xinfang_indicators(facts: PeriodFacts, config: Any) -> list[Indicator]:
    """Indicators a plugin adds to reports, computed from the period's facts.

    ``facts`` is a :class:`schemas.facts.PeriodFacts` (cases with their clocks, incidents,
    units with their ratings and missed deadlines). Returns a list of
    :class:`schemas.rules.Indicator`: a numerator and a denominator per unit (``unit=None``
    for the whole ledger), a key prefixed with the plugin's name, a label and a basis.
    Rates are left to the reader, so no rounding hides in the figures.

    Example::

        @hookimpl
        def xinfang_indicators(facts, config):
            first = [c for c in facts.cases if c.first_time and c.received_on in facts.period]
            done = [c for c in first if c.concluded_on is not None]
            return [Indicator(key="mycounty.concluded", label="初信初访办结率", unit=None,
                              numerator=len(done), denominator=len(first), basis="本县规定")]
    """


@hookspec
def xinfang_awards(facts: PeriodFacts, config: Any) -> list[AwardVerdict]:
    """Award criteria for units and a period: 三无 titles, 人民满意单位 and the like.

    ``facts`` is a :class:`schemas.facts.PeriodFacts`. Returns one
    :class:`schemas.rules.AwardVerdict` per unit and title the plugin judges: passed or
    not, every failure (the criterion, the incident and its date when one is to blame)
    and the award in 元. The evaluation (``xinfang awards``) sorts the verdicts, totals
    the awards and cites the rule-set fingerprint and the log prefix.

    Example::

        @hookimpl
        def xinfang_awards(facts, config):
            return [AwardVerdict(unit=u.unit, name=u.name, kind=u.kind, township_class=u.township_class,
                                 title="无访村", passed=not u.incidents,
                                 amount=0 if u.incidents else 3000,
                                 failures=[AwardFailure(criterion="无访村", reason=f"事件 {i.incident}",
                                                        incident=i.incident, occurred_on=i.occurred_on)
                                           for i in u.incidents])
                    for u in facts.units if u.kind == "村社区"]
    """


@hookspec
def xinfang_accountability(facts: PeriodFacts, config: Any) -> list[Finding]:
    """Accountability findings: units whose record in the period calls for a letter or more.

    ``facts`` is a :class:`schemas.facts.PeriodFacts`; each unit lists the statutory
    deadlines it missed (``overdue``). Returns :class:`schemas.rules.Finding` items: the
    unit, the recommendation (三函一单: 风险提醒函, 改进工作建议函, 问责建议函, 督办单), the
    grounds in Chinese, the cases concerned and the legal basis.

    Example::

        @hookimpl
        def xinfang_accountability(facts, config):
            return [Finding(unit=u.unit, recommendation="问责建议函", basis="C22 第40条",
                            grounds=f"期内 {len(u.overdue)} 件超期", cases=[o.case for o in u.overdue])
                    for u in facts.units if len(u.overdue) >= 3]
    """
