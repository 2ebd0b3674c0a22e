"""芷江侗族自治县：信访工作“三无”创建 and 信访工作人民满意单位 (2021).

Source: 芷江侗族自治县信访局2021年工作总结 (芷办发电〔2021〕46号 实施方案). Awards:
三无乡镇 一类 5万元、二类 2万元 each; 三无村(社区) 0.5万元 each; 信访工作人民满意单位 1万元 each,
where the 综合满意率 must reach 80%.

Everything local is configuration (``[plugins.zhijiang]``): which incidents break each
"无" (kind, destination level, minimum head count), whether they are counted per batch
(批次) or per person (人次) and how many are tolerated, the satisfaction threshold, and the
award table. The defaults are the 2021 scheme. Incidents count for the unit named as
属地 and the units above it, so a village's incident also counts against its township.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.hooks import AwardFailure, AwardVerdict, IncidentFact, PeriodFacts, UnitFacts, hookimpl
from schemas.common import IncidentKind, Level, RatedParty, Rating, TownshipClass, UnitKind

__version__ = "2021.1"

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
        return incident.kind in self.kinds and incident.level in self.levels and incident.persons >= self.min_persons


class TownshipTitle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """三无乡镇, awarded by township class."""

    enabled: bool = True
    title: str = "三无乡镇"
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


LEVEL_WORDS = {"县": "到县", "市": "到市", "省": "到省", "京": "进京"}
KIND_WORDS = {"越级": "越级访", "集体": "集体访", "非正常": "非正常访", "极端": "极端事件"}


def _incident_failures(unit: UnitFacts, criteria: tuple[Criterion, ...], names: dict[str, str]) -> list[AwardFailure]:
    failures = []
    for criterion in criteria:
        counted = [i for i in unit.incidents if criterion.counts(i)]
        total = len(counted) if criterion.count == "批次" else sum(i.persons for i in counted)
        if total <= criterion.limit:
            continue
        if criterion.limit:
            failures.append(AwardFailure(
                criterion=criterion.name,
                reason=f"计 {total} {criterion.count}，超过允许的 {criterion.limit} {criterion.count}",
            ))
        failures.extend(
            AwardFailure(
                criterion=criterion.name,
                reason=f"{i.occurred_on.isoformat()} {LEVEL_WORDS[i.level]}{KIND_WORDS[i.kind]} {i.persons} 人"
                       f"（事件 {i.incident}，属地 {names.get(i.township, i.township)}）",
                incident=i.incident,
                occurred_on=i.occurred_on,
            )
            for i in counted
        )
    return failures


def _verdict(unit: UnitFacts, title: str, failures: list[AwardFailure], amount: int | None) -> AwardVerdict:
    passed = not failures
    return AwardVerdict(
        unit=unit.unit, name=unit.name, kind=unit.kind, township_class=unit.township_class, title=title,
        passed=passed, failures=failures, amount=(amount or 0) if passed else 0,
        note="乡镇类别未登记或无奖励标准，奖励待定" if passed and amount is None else "",
    )


def _satisfaction(unit: UnitFacts, rule: SatisfactionTitle) -> AwardVerdict:
    ratings = unit.ratings.get(rule.party, {})
    rated = sum(n for value, n in ratings.items() if value != "超期未评价")
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


@hookimpl
def xinfang_awards(facts: PeriodFacts, config: Config) -> list[AwardVerdict]:
    names = {u.unit: u.name for u in facts.units}
    verdicts = []
    if config.township.enabled:
        for unit in facts.units:
            if unit.kind == "乡镇":
                amount = config.township.awards.get(unit.township_class) if unit.township_class else None
                failures = _incident_failures(unit, config.township.criteria, names)
                verdicts.append(_verdict(unit, config.township.title, failures, amount))
    if config.village.enabled:
        for unit in facts.units:
            if unit.kind == "村社区":
                failures = _incident_failures(unit, config.village.criteria, names)
                verdicts.append(_verdict(unit, config.village.title, failures, config.village.award))
    if config.satisfaction.enabled:
        verdicts.extend(_satisfaction(u, config.satisfaction) for u in facts.units
                        if u.kind in config.satisfaction.unit_kinds)
    return verdicts
