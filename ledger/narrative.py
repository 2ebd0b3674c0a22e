"""What each event says, in Chinese: the sentences of a timeline a person reads.

``xinfang case show``, the API timeline and the web pages show an event by what it says —
to which unit a case went, the outcome, who rated whom and how, the reason — with unit and
official names instead of codes. Every event type has a sentence (:data:`SENTENCES`; a
meta-test fails when one is missing). A rating or an expiry names the party and the unit it
concerns: the 信访部门 is the registering unit, the 责任单位 the unit holding the case when
the rating was given — which is why :func:`describe` takes the case as it stood before.

Names come from a :class:`Names` (the ledger's registries, the API's index, or plain dicts);
a code nobody registered stands for itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.domain.case import CHINA, Case
from schemas import events as ev
from schemas.events import Envelope, Event


class Named(Protocol):
    @property
    def name(self) -> str: ...


class Lookup(Protocol):
    def get(self, code: str, /) -> Named | None: ...


class Names:
    """Unit and official names by code."""

    def __init__(self, units: Lookup, officials: Lookup) -> None:
        self._units = units
        self._officials = officials

    def unit(self, code: str | None) -> str:
        if not code:
            return "—"
        found = self._units.get(code)
        return found.name if found is not None else code

    def official(self, code: str | None) -> str:
        if not code:
            return "—"
        found = self._officials.get(code)
        return found.name if found is not None else code

    def anyone(self, code: str) -> str:
        """A unit's or an official's name (a 检举 names either)."""
        found = self._units.get(code) or self._officials.get(code)
        return found.name if found is not None else code


@dataclass(frozen=True)
class Said:
    """What a sentence may draw on besides the event: names, the acting unit, the case before it."""

    names: Names
    actor_unit: str
    before: Case | None

    @property
    def unit(self) -> str:
        """The acting unit's name."""
        return self.names.unit(self.actor_unit)

    def holder(self) -> str:
        """The unit holding the case before the event (the registering one before routing)."""
        case = self.before
        return self.names.unit(case.current_unit or case.registered_by) if case is not None else "—"

    def party(self, party: str) -> str:
        """The unit a rating of ``party`` concerns."""
        if self.before is None:
            return "—"
        return self.names.unit(self.before.registered_by) if party == "信访部门" else self.holder()


LEVEL_WORDS = {"县": "到县", "市": "到市", "省": "到省", "京": "进京"}


def _note(text: str) -> str:
    return f"（{text}）" if text else ""


def _registered(e: Any, s: Said) -> str:
    details = [f"属地{s.names.unit(e.home_township)}", f"{e.persons}人"]
    details += [f"标记{'、'.join(e.flags)}"] if e.flags else []
    details += [f"重复信访，原事项 {e.repeat_of}"] if e.repeat_of else []
    details += [f"领导接访 {e.reception} 时收到"] if e.reception else []
    details += [f"检举对象：{'、'.join(s.names.anyone(a) for a in e.accused)}"] if e.accused else []
    return f"{s.unit}登记{e.channel}信访事项 {e.number}「{e.subject}」（{'，'.join(details)}）"


def _objection_resolved(e: Any, s: Said) -> str:
    if e.ruling == "异议成立":
        return f"{s.unit}认定管辖异议成立，改由{s.names.unit(e.to_unit)}办理（其受理期限自今日起算）{_note(e.note)}"
    return f"{s.unit}认定管辖异议不成立，仍由{s.holder()}办理{_note(e.note)}"


def _follow_up(e: Any, s: Said) -> str:
    parts = ["联系上信访人" if e.reached else "未联系上信访人"]
    if e.satisfaction_verified is not None:
        parts.append("满意度核实属实" if e.satisfaction_verified else "满意度核实不属实")
    parts += ["实地核查"] * e.onsite_check + ["责令责任单位整改"] * e.rectification_ordered
    return f"{s.unit}回访核实：{'，'.join(parts)}{_note(e.note)}"


def _accountability(e: Any, s: Said) -> str:
    whom = "、".join(x for x in (s.names.unit(e.unit) if e.unit else "", s.names.official(e.official) if e.official else "")
                    if x)
    cases = f"，涉及 {'、'.join(e.cases)}" if e.cases else ""
    return f"{s.unit}对{whom}作出{e.measure}的问责决定，事由：{e.grounds}{cases}"


def _corrected(e: Any, s: Said) -> str:
    moved = f"，发生时间应为 {e.corrected_occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M}" if e.corrected_occurred_at else ""
    return f"{s.unit}更正本案第 {e.corrects_version} 条记录{moved}，理由：{e.reason}{_note(e.note)}"


Sentence = Callable[[Any, Said], str]

SENTENCES: dict[type[Event], Sentence] = {
    ev.PetitionRegistered: _registered,
    ev.CaseForwarded: lambda e, s: f"{s.unit}将本件转送{s.names.unit(e.to_unit)}办理{_note(e.note)}",
    ev.CaseAssigned: lambda e, s: (f"{s.unit}将本件交办{s.names.unit(e.to_unit)}，限 {e.report_due} 前报告办理结果"
                                   f"{_note(e.note)}"),
    ev.PetitionerRedirected: lambda e, s: f"{s.unit}告知信访人向有权处理的机关提出：{e.reason}",
    ev.RoutedToStatutoryChannel: lambda e, s: f"{s.unit}引导信访人通过{e.route}解决{_note(e.note)}",
    ev.CaseReferred: lambda e, s: f"{s.unit}将本件转交{e.authority}机关（{s.names.unit(e.to_unit)}）{_note(e.note)}",
    ev.CaseAccepted: lambda e, s: f"{s.unit}受理本件并书面告知信访人{_note(e.note)}",
    ev.AcceptanceRefused: lambda e, s: f"{s.unit}不予受理，理由：{e.reason}{_note(e.note)}",
    ev.JurisdictionObjected: lambda e, s: f"{s.unit}提出管辖异议，认为不属本单位职权：{e.reason}",
    ev.JurisdictionObjectionResolved: _objection_resolved,
    ev.InvestigationRecorded: lambda e, s: f"{s.unit}调查核实：{e.note}",
    ev.HearingStarted: lambda e, s: f"{s.unit}开始听证{_note(e.note)}",
    ev.HearingEnded: lambda e, s: f"{s.unit}结束听证{_note(e.note)}",
    ev.SettlementReached: lambda e, s: f"{s.unit}组织双方达成{e.kind}协议{_note(e.note)}",
    ev.DeadlineExtended: lambda e, s: (f"经{s.names.official(e.approved_by)}批准，{s.unit}的办理期限延长 {e.days} 日，"
                                       f"{'已' if e.petitioner_notified else '未'}告知信访人{_note(e.note)}"),
    ev.DecisionIssued: lambda e, s: f"{s.unit}出具处理意见：{e.outcome}{_note(e.note)}",
    ev.DecisionServed: lambda e, s: f"{s.unit}以{e.method}送达处理意见，信访人{e.receipt}",
    ev.SatisfactionRated: lambda e, s: f"信访人评价{e.party}（{s.party(e.party)}）：{e.rating}",
    ev.RatingExpired: lambda e, s: f"信访人未在评价期限内评价{e.party}（{s.party(e.party)}），记为超期未评价",
    ev.ReviewRequested: lambda e, s: f"信访人申请复查，{s.unit}登记{_note(e.note)}",
    ev.ReviewDecided: lambda e, s: f"{s.unit}出具复查意见：{e.outcome}{_note(e.note)}",
    ev.ReReviewRequested: lambda e, s: f"信访人申请复核，{s.unit}登记{_note(e.note)}",
    ev.ReReviewDecided: lambda e, s: f"{s.unit}出具复核意见：{e.outcome}{_note(e.note)}",
    ev.FurtherPetitionsBarred: lambda e, s: f"{s.unit}决定：同一事实和理由不再受理{_note(e.note)}",
    ev.CaseConcluded: lambda e, s: f"{s.unit}办结本件{_note(e.note)}",
    ev.ConclusionCertified: lambda e, s: f"{s.unit}审核认定办结{_note(e.note)}",
    ev.FollowUpVisited: _follow_up,
    ev.CaseArchived: lambda e, s: f"{s.unit}将本件归档{_note(e.note)}",
    ev.SupervisionOrdered: lambda e, s: (f"{s.unit}督办（{e.order}），要求{s.names.unit(e.to_unit)}于 {e.reply_due} 前答复"
                                         f"{_note(e.note)}"),
    ev.SupervisionAnswered: lambda e, s: f"{s.unit}答复督办 {e.order}{_note(e.note)}",
    ev.LeaderAssigned: lambda e, s: f"{s.names.official(e.leader)}包案化解本件{_note(e.note)}",
    ev.EventCorrected: _corrected,
    ev.UnitRegistered: lambda e, s: (f"登记单位{e.name}（{e.kind}"
                                     f"{f'，属{s.names.unit(e.parent)}' if e.parent else ''}"
                                     f"{f'，{e.township_class}乡镇' if e.township_class else ''}）"),
    ev.OfficialRegistered: lambda e, s: f"登记干部{e.name}：{s.names.unit(e.unit)}{e.title}",
    ev.RecommendationIssued: lambda e, s: (f"{s.unit}向{s.names.unit(e.to_unit)}发出{e.kind}（{e.letter}），"
                                           f"限 {e.reply_due} 前答复{_note(e.note)}"),
    ev.RecommendationAnswered: lambda e, s: f"{s.unit}书面答复函件 {e.letter}{_note(e.note)}",
    ev.AccountabilityDecided: _accountability,
    ev.LeaderReceptionHeld: lambda e, s: (f"{s.names.official(e.leader)}在{s.names.unit(e.unit)}接访：{e.batches} 批次 "
                                          f"{e.persons} 人次，当场答复 {e.answered_on_spot} 件，交转办 {e.referred} 件"),
    ev.BacklogBatchListed: lambda e, s: f"{s.unit}登记积案批次「{e.name}」，共 {len(e.cases)} 件",
    ev.BacklogCaseResolved: lambda e, s: f"{s.unit}报告积案 {e.case} 已化解{_note(e.note)}",
    ev.DisputeFound: lambda e, s: f"{s.unit}排查发现矛盾纠纷「{e.subject}」，属地{s.names.unit(e.township)}{_note(e.note)}",
    ev.DisputeMediated: lambda e, s: f"{s.unit}调处矛盾纠纷{_note(e.note)}",
    ev.DisputeResolved: lambda e, s: f"{s.unit}化解矛盾纠纷{_note(e.note)}",
    ev.IncidentRecorded: lambda e, s: (f"{s.unit}登记：{s.names.unit(e.village or e.township)}{e.persons} 人"
                                       f"{LEVEL_WORDS[e.level]}{e.kind}访"
                                       f"{'' if e.village else '（未登记当事人所在村）'}{_note(e.note)}"),
    ev.PetitionerIdentityRecorded: lambda e, s: (f"{s.unit}登记信访人 {e.ref} 的身份信息（由{s.names.unit(e.holder)}持有"
                                                 f"{f'，案件 {e.case}' if e.case else ''}；只记存储摘要）"),
    ev.PetitionerIdentityErased: lambda e, s: f"{s.unit}销毁信访人 {e.ref} 的身份信息，理由：{e.reason}",
    ev.IdentityRead: lambda e, s: (f"{s.unit}查阅信访人 {e.ref} 的身份信息"
                                   f"（{f'案件 {e.case}，' if e.case else ''}用途：{e.purpose or '未说明'}）"),
    ev.MigrationDeclared: lambda e, s: (f"{s.unit}声明从{e.source}迁移历史数据 {e.migration}：截止 "
                                        f"{e.cutoff.astimezone(CHINA):%Y-%m-%d %H:%M}，预计 {e.expected} 条{_note(e.note)}"),
}
"""Event type → its sentence, given the event and what it may draw on."""


def describe(envelope: Envelope, names: Names, before: Case | None = None) -> str:
    """What ``envelope`` says, in one Chinese sentence; ``before``: the case as it stood before it.

    A migrated step is told as the source system's unit did it, and says it was migrated.
    """
    source = envelope.original_actor
    said = Said(names, (source or envelope.actor).unit, before)
    text = SENTENCES[type(envelope.event)](envelope.event, said)
    if envelope.migration is not None:
        doer = f"原系统经办人 {source.name or names.official(source.official)}，" if source is not None else ""
        text += f"〔历史数据迁移 {envelope.migration}：{doer}由{names.official(envelope.actor.id)}导入〕"
    return text

