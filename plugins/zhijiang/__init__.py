"""芷江侗族自治县：信访工作“三无”创建 and 信访工作人民满意单位 (2021).

Source: 芷江侗族自治县信访局2021年工作总结 (芷办发电〔2021〕46号 实施方案). Awards:
三无乡镇 一类 5万元、二类 2万元 each; 三无村(社区) 0.5万元 each; 信访工作人民满意单位 1万元 each,
where the 综合满意率 must reach 80%.

Everything local is configuration (``[plugins.zhijiang]``): which incidents break each
"无" (kind, destination level, minimum head count), whether they are counted per batch
(批次) or per person (人次) and how many are tolerated, the satisfaction threshold, and the
award table. The defaults are the 2021 scheme. Incidents count for the village of the
people involved (or the unit named as 属地 when no village is known) and the units above it,
so a village's incident also counts against its township. An incident matches a criterion
by its recorded kind or a derived one (a 越级 visit of 5 or more persons is 集体 too).

A village whose township had an incident with no village recorded cannot be judged (待定)
unless its own incidents already fail it. A unit that received no ratings is not judged for
satisfaction (不适用). Each title is annual (``annual``): for a period other than a calendar
year every verdict is 不适用 and nothing is awarded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal

import msgspec

from ledger.hooks import AwardFailure, AwardVerdict, IncidentFact, PeriodFacts, UnitFacts, hookimpl
from schemas.common import IncidentKind, Level, RatedParty, Rating, TownshipClass, UnitKind
from schemas.rules import VerdictStatus

__version__ = "2021.2"

ALL_LEVELS: tuple[Level, ...] = ("县", "市", "省", "京")
Yuan = Annotated[int, msgspec.Meta(ge=0)]


class Criterion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One "无": the incidents that break it, and how many are tolerated."""

    name: str
    kinds: tuple[IncidentKind, ...]
    levels: tuple[Level, ...] = ALL_LEVELS
    """Destination levels that count (县, 市, 省, 京)."""
    min_persons: Annotated[int, msgspec.Meta(ge=1)] = 1
    count: Literal["批次", "人次"] = "批次"
    """Count each incident once (批次) or by its head count (人次)."""
    limit: Annotated[int, msgspec.Meta(ge=0)] = 0
    """How many batches or persons are tolerated; one more fails the criterion."""

    def counts(self, incident: IncidentFact) -> bool:
        return incident.counts_as(self.kinds) and incident.level in self.levels and incident.persons >= self.min_persons


class TownshipTitle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """三无乡镇, awarded by township class."""

    enabled: bool = True
    title: str = "三无乡镇"
    annual: bool = True
    """Judged for a calendar year only."""
    criteria: tuple[Criterion, ...] = (
        Criterion(name="无进京非正常上访", kinds=("非正常",), levels=("京",)),
        Criterion(name="无集体越级上访", kinds=("集体",), levels=("市", "省", "京")),
        Criterion(name="无因信访问题引发的极端事件", kinds=("极端",)),
    )
    awards: dict[TownshipClass, Yuan] = msgspec.field(default_factory=lambda: {"一类": 50_000, "二类": 20_000})


class VillageTitle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """三无村(社区)."""

    enabled: bool = True
    title: str = "三无村(社区)"
    annual: bool = True
    criteria: tuple[Criterion, ...] = (
        Criterion(name="无越级上访", kinds=("越级",)),
        Criterion(name="无集体上访", kinds=("集体",)),
        Criterion(name="无非正常上访", kinds=("非正常",)),
    )
    award: Yuan = 5_000


class SatisfactionTitle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """信访工作人民满意单位: the share of satisfied ratings reaches the threshold."""

    enabled: bool = True
    title: str = "信访工作人民满意单位"
    annual: bool = True
    unit_kinds: tuple[UnitKind, ...] = ("乡镇", "部门")
    party: RatedParty = "责任单位"
    satisfied: tuple[Rating, ...] = ("满意", "基本满意")
    threshold: Annotated[int, msgspec.Meta(ge=0, le=100)] = 80
    """Percent of rated items (超期未评价 not counted) that must be satisfied."""
    min_rated: Annotated[int, msgspec.Meta(ge=1)] = 1
    award: Yuan = 10_000


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[plugins.zhijiang]``: one table per title."""

    township: TownshipTitle = TownshipTitle()
    village: VillageTitle = VillageTitle()
    satisfaction: SatisfactionTitle = SatisfactionTitle()


Title = TownshipTitle | VillageTitle | SatisfactionTitle
LEVEL_WORDS = {"县": "到县", "市": "到市", "省": "到省", "京": "进京"}
KIND_WORDS = {"越级": "越级访", "集体": "集体访", "非正常": "非正常访", "极端": "极端事件"}


def _describe(incident: IncidentFact, criterion: Criterion, names: dict[str, str]) -> str:
    place = incident.village or incident.township
    counted_as = "" if incident.kind in criterion.kinds else "，亦计为" + "、".join(
        KIND_WORDS[k] for k in criterion.kinds if incident.counts_as((k,)))
    return (f"{incident.occurred_on.isoformat()} {LEVEL_WORDS[incident.level]}{KIND_WORDS[incident.kind]} "
            f"{incident.persons} 人{counted_as}（事件 {incident.incident}，属地 {names.get(place, place)}）")


def _total(criterion: Criterion, incidents: list[IncidentFact]) -> int:
    return len(incidents) if criterion.count == "批次" else sum(i.persons for i in incidents)


def _incident_failures(incidents: list[IncidentFact], criteria: tuple[Criterion, ...],
                       names: dict[str, str]) -> list[AwardFailure]:
    failures = []
    for criterion in criteria:
        counted = [i for i in incidents if criterion.counts(i)]
        total = _total(criterion, counted)
        if total <= criterion.limit:
            continue
        if criterion.limit:
            failures.append(AwardFailure(
                criterion=criterion.name,
                reason=f"计 {total} {criterion.count}，超过允许的 {criterion.limit} {criterion.count}",
            ))
        failures.extend(
            AwardFailure(criterion=criterion.name, reason=_describe(i, criterion, names), incident=i.incident,
                         occurred_on=i.occurred_on)
            for i in counted
        )
    return failures


def _unplaced(village: UnitFacts, township: UnitFacts | None, criteria: tuple[Criterion, ...],
              names: dict[str, str]) -> list[AwardFailure]:
    """Incidents of the village's township with no village recorded that could break a criterion
    for this village: with them, its verdict cannot be made."""
    if township is None:
        return []
    unknown = [i for i in township.incidents if (i.village or i.township) == township.unit]
    doubts = []
    for criterion in criteria:
        own = [i for i in village.incidents if criterion.counts(i)]
        maybe = [i for i in unknown if criterion.counts(i)]
        if maybe and _total(criterion, own + maybe) > criterion.limit:
            doubts.extend(
                AwardFailure(criterion=criterion.name, reason=f"{_describe(i, criterion, names)}：未登记当事人所在村（社区）",
                             incident=i.incident, occurred_on=i.occurred_on)
                for i in maybe
            )
    return doubts


def _verdict(unit: UnitFacts, title: str, failures: list[AwardFailure], amount: int | None) -> AwardVerdict:
    passed = not failures
    return AwardVerdict(
        unit=unit.unit, name=unit.name, kind=unit.kind, township_class=unit.township_class, title=title,
        passed=passed, failures=failures, amount=(amount or 0) if passed else 0,
        note="乡镇类别未登记或无奖励标准，奖励待定" if passed and amount is None else "",
    )


def _not_judged(unit: UnitFacts, title: str, status: VerdictStatus, note: str,
                doubts: Sequence[AwardFailure] = ()) -> AwardVerdict:
    return AwardVerdict(unit=unit.unit, name=unit.name, kind=unit.kind, township_class=unit.township_class,
                        title=title, passed=False, failures=list(doubts), status=status, note=note)


def _satisfaction(unit: UnitFacts, rule: SatisfactionTitle) -> AwardVerdict:
    ratings = unit.ratings.get(rule.party, {})
    rated = sum(n for value, n in ratings.items() if value != "超期未评价")
    if not rated:
        return _not_judged(unit, rule.title, "not_applicable", f"期内没有群众对本单位（{rule.party}）的评价，不参评")
    satisfied = sum(ratings.get(value, 0) for value in rule.satisfied)
    criterion = f"{rule.party}群众满意率不低于 {rule.threshold}%"
    failures = []
    if rated < rule.min_rated:
        failures.append(AwardFailure(criterion=criterion, reason=f"参评 {rated} 件，不足 {rule.min_rated} 件"))
    elif satisfied * 100 < rule.threshold * rated:
        failures.append(AwardFailure(
            criterion=criterion, reason=f"满意率 {100 * satisfied / rated:.1f}%（{satisfied}/{rated}）低于 {rule.threshold}%"
        ))
    return _verdict(unit, rule.title, failures, rule.award)


def _village(unit: UnitFacts, rule: VillageTitle, units: dict[str, UnitFacts], names: dict[str, str]) -> AwardVerdict:
    failures = _incident_failures(unit.incidents, rule.criteria, names)
    doubts = [] if failures else _unplaced(unit, units.get(unit.parent or ""), rule.criteria, names)
    if doubts:
        return _not_judged(unit, rule.title, "undetermined", "乡镇有未登记所在村（社区）的事件，本村（社区）无法判定", doubts)
    return _verdict(unit, rule.title, failures, rule.award)


@hookimpl
def xinfang_awards(facts: PeriodFacts, config: Config) -> list[AwardVerdict]:
    names = {u.unit: u.name for u in facts.units}
    units = {u.unit: u for u in facts.units}
    judged: list[tuple[Title, tuple[UnitKind, ...], Callable[[UnitFacts], AwardVerdict]]] = [
        (config.township, ("乡镇",), lambda u: _verdict(
            u, config.township.title, _incident_failures(u.incidents, config.township.criteria, names),
            config.township.awards.get(u.township_class) if u.township_class else None)),
        (config.village, ("村社区",), lambda u: _village(u, config.village, units, names)),
        (config.satisfaction, config.satisfaction.unit_kinds, lambda u: _satisfaction(u, config.satisfaction)),
    ]
    verdicts = []
    for rule, kinds, judge in judged:
        if not rule.enabled:
            continue
        out_of_period = rule.annual and not facts.period.whole_year
        for unit in facts.units:
            if unit.kind not in kinds:
                continue
            verdicts.append(_not_judged(unit, rule.title, "not_applicable",
                                        f"「{rule.title}」按年度评定：考核期 {facts.period.label} 不是完整年度，不评定")
                            if out_of_period else judge(unit))
    return verdicts
