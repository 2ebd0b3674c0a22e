"""The petition case (信访事项): an immutable state folded from its events, and its state machine.

``decide`` checks a proposed event against the case and refuses illegal moves with a
reason a clerk understands; ``evolve`` folds an accepted event into the next state.
The transition table below is the single source of truth for which event may follow
which stage; guards add the rules that depend on dates and history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Literal, Protocol
from uuid import UUID

import msgspec

from schemas import events as ev
from schemas.events import Envelope, Event, chinese_name

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")

Stage = Literal[
    "已登记",
    "待受理",
    "管辖异议中",
    "已告知",
    "已导入法定途径",
    "已转交",
    "不予受理",
    "办理中",
    "已出具意见",
    "已送达",
    "复查中",
    "已复查",
    "复核中",
    "已复核",
    "已办结",
    "已认定办结",
    "已归档",
]


_CHINA_OFFSET = timedelta(hours=8)


def business_day(moment: datetime) -> date:
    """The calendar day in China on which ``moment`` fell: deadlines count in local days."""
    if moment.utcoffset() == _CHINA_OFFSET:  # the usual case: no conversion needed
        return moment.date()
    return moment.astimezone(CHINA).date()


class Supervision(msgspec.Struct, frozen=True):
    """A 督办 order on the case and whether it was answered."""

    order: str
    to_unit: str
    ordered_on: date
    reply_due: date
    answered_on: date | None = None


class Case(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the rules need about one case; small and bounded so replay stays cheap."""

    id: UUID
    version: int
    number: str
    stage: Stage
    channel: str
    subject: str
    flags: tuple[str, ...]
    petitioners: tuple[str, ...]
    persons: int
    home_township: str
    registered_by: str
    repeat_of: str | None
    accused: tuple[str, ...]
    received_on: date
    stage_since: datetime
    """When the current stage began. Stages follow one another in business time; entries within a
    stage (调查, 督办, 评价…) may arrive late with their true, earlier dates — and show as 补录."""
    current_unit: str | None = None
    leader: str | None = None
    routed_on: date | None = None
    """The 信访部门's routing (转送, 交办, 告知…): its 15-day clock stops here, whatever happens after."""
    unit_received_on: date | None = None
    """When the responsible unit received the item: the routing, or the ruling that handed it to
    another unit after an upheld jurisdiction objection. The acceptance clock starts here."""
    objected_on: date | None = None
    """The latest 管辖异议 raised."""
    report_due: date | None = None
    accepted_on: date | None = None
    refused_on: date | None = None
    routed_away_on: date | None = None
    """告知, 导入法定途径 or 转交: the item left 信访 handling, so no acceptance is due."""
    investigated_on: date | None = None
    """First 调查核实 record: when the handler first met the petitioner and looked into the facts."""
    decided_on: date | None = None
    served_on: date | None = None
    extension_days: int = 0
    hearing_since: date | None = None
    rereview_hearing_days: int = 0
    """Hearing days during 复核: C22 art 36 does not count them."""
    review_requested_on: date | None = None
    review_decided_on: date | None = None
    rereview_requested_on: date | None = None
    rereview_decided_on: date | None = None
    concluded_on: date | None = None
    certified_on: date | None = None
    archived_on: date | None = None
    ratings: tuple[tuple[str, str], ...] = ()
    handoffs: int = 0
    objections: int = 0
    supervision: tuple[Supervision, ...] = ()
    barred: bool = False
    reception: str | None = None
    """The 领导接访 session the item was received at."""

    def rating_of(self, party: str) -> str | None:
        return next((value for who, value in self.ratings if who == party), None)

    def concerned_units(self) -> frozenset[str]:
        """The units the case concerns: who registered it, who holds it, its 属地 township, and every
        unit under a 督办 order on it. A unit sees the cases that concern it or a unit below it."""
        units = {self.registered_by, self.home_township, *(s.to_unit for s in self.supervision)}
        if self.current_unit:
            units.add(self.current_unit)
        return frozenset(units)


# ── The transition table ─────────────────────────────────────────────────────
# event type → (stages it may follow, stage it leads to; None keeps the stage).

ROUTED_AWAY: frozenset[Stage] = frozenset({"已告知", "已导入法定途径", "已转交", "不予受理"})
AFTER_SERVICE: frozenset[Stage] = frozenset({"已送达", "复查中", "已复查", "复核中", "已复核", "已办结", "已认定办结"})
HANDLING: frozenset[Stage] = frozenset({"办理中", "复查中", "复核中"})
OPEN: frozenset[Stage] = frozenset(Stage.__args__) - {"已归档"}  # type: ignore[attr-defined]
CONCLUDABLE: frozenset[Stage] = frozenset({"已送达", "已复查", "已复核"}) | ROUTED_AWAY

TRANSITIONS: dict[type[Event], tuple[frozenset[Stage], Stage | None]] = {
    ev.CaseForwarded: (frozenset({"已登记"}), "待受理"),
    ev.CaseAssigned: (frozenset({"已登记"}), "待受理"),
    ev.PetitionerRedirected: (frozenset({"已登记"}), "已告知"),
    ev.RoutedToStatutoryChannel: (frozenset({"已登记", "待受理"}), "已导入法定途径"),
    ev.CaseReferred: (frozenset({"已登记", "待受理"}), "已转交"),
    ev.CaseAccepted: (frozenset({"待受理"}), "办理中"),
    ev.AcceptanceRefused: (frozenset({"待受理"}), "不予受理"),
    ev.JurisdictionObjected: (frozenset({"待受理"}), "管辖异议中"),
    ev.JurisdictionObjectionResolved: (frozenset({"管辖异议中"}), "待受理"),
    ev.InvestigationRecorded: (HANDLING, None),
    ev.HearingStarted: (HANDLING, None),
    ev.HearingEnded: (HANDLING, None),
    ev.SettlementReached: (HANDLING, None),
    ev.DeadlineExtended: (frozenset({"办理中"}), None),
    ev.DecisionIssued: (frozenset({"办理中"}), "已出具意见"),
    ev.DecisionServed: (frozenset({"已出具意见"}), "已送达"),
    ev.SatisfactionRated: (AFTER_SERVICE, None),
    ev.RatingExpired: (AFTER_SERVICE, None),
    ev.ReviewRequested: (frozenset({"已送达", "已办结", "已认定办结"}), "复查中"),
    ev.ReviewDecided: (frozenset({"复查中"}), "已复查"),
    ev.ReReviewRequested: (frozenset({"已复查", "已办结", "已认定办结"}), "复核中"),
    ev.ReReviewDecided: (frozenset({"复核中"}), "已复核"),
    ev.FurtherPetitionsBarred: (frozenset({"已复核", "已办结", "已认定办结"}), None),
    ev.CaseConcluded: (CONCLUDABLE, "已办结"),
    ev.ConclusionCertified: (frozenset({"已办结"}), "已认定办结"),
    ev.FollowUpVisited: (frozenset({"已办结", "已认定办结"}), None),
    ev.CaseArchived: (frozenset({"已办结", "已认定办结"}) | ROUTED_AWAY, "已归档"),
    ev.SupervisionOrdered: (OPEN, None),
    ev.SupervisionAnswered: (OPEN, None),
    ev.LeaderAssigned: (OPEN, None),
    ev.EventCorrected: (OPEN | {"已归档"}, None),
}

ALLOWED_AFTER_BAR: frozenset[type[Event]] = frozenset(
    {
        ev.CaseConcluded,
        ev.ConclusionCertified,
        ev.FollowUpVisited,
        ev.CaseArchived,
        ev.EventCorrected,
        ev.SatisfactionRated,
        ev.RatingExpired,
    }
)
"""After 不再受理 (C22 art 36) only closing the file is left — and the petitioner's rating."""

# Clearer words for the moves clerks get wrong most often: (event, stage) → reason.
SPECIFIC_REFUSALS: dict[tuple[type[Event], Stage], str] = {
    **{(ev.DecisionIssued, stage): "尚未受理，不能出具处理意见：须先受理" for stage in ("已登记", "待受理", "管辖异议中")},
    **{
        (ev.ReReviewRequested, stage): "尚未复查，不能申请复核：须先申请复查并出具复查意见（C22 第36条）"
        for stage in ("已送达", "复查中")
    },
    **{(ev.CaseAccepted, stage): "已受理，不能重复受理" for stage in ("办理中", "已出具意见", "已送达")},
    **{(ev.DecisionServed, stage): "尚未出具处理意见，无法送达" for stage in ("已登记", "待受理", "办理中")},
}


class Window(Protocol):
    """A request window as the rules give it: when it closes, what it is and its legal basis."""

    due: date
    label: str
    basis: str


class Limits(Protocol):
    """What the case needs from the rules: the window of a step in force for the case."""

    def window(self, step: str, case: Case) -> Window | None:
        """The window ``step`` of ``case`` (None: not opened, or no such limit in the law in force)."""
        ...


Guard = Callable[[Case, Event, date, Limits], str | None]


def _late_for(step: str, case: Case, day: date, limits: Limits, what: str) -> str | None:
    window = limits.window(step, case)
    if window is not None and day > window.due:
        return f"{what}，{window.label}的期限已于 {window.due} 届满（{window.basis}）"
    return None


def _objection_in_time(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    return _late_for("objection", case, day, limits, "管辖异议应在收到之日起5个工作日内提出，已超过期限")


def _hearing_closed(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    return "听证尚未结束，不能出具意见" if case.hearing_since is not None else None


def _hearing_can_start(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    return "听证已在进行中" if case.hearing_since is not None else None


def _hearing_can_end(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    return "没有正在进行的听证" if case.hearing_since is None else None


def _extension_allowed(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.DeadlineExtended)
    if case.extension_days:
        return "办理期限只能延长一次（C22 第34条）"
    if not event.petitioner_notified:
        return "延长办理期限须告知信访人（C22 第34条）"
    return None


def _rating_once(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.SatisfactionRated | ev.RatingExpired)
    earlier = case.rating_of(event.party)
    if earlier is not None:
        return f"对{event.party}的评价已登记（{earlier}），同一方不能再次评价"
    return None


def _review_in_time(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    if case.review_requested_on is not None:
        return "已申请过复查，不能重复申请"
    if case.served_on is None:  # e.g. 告知 and then 办结: there is no decision to review
        return "没有送达的处理意见，不能申请复查：复查针对已送达的处理意见（C22 第35条）"
    return _late_for("review_request", case, day, limits, "复查申请应在收到处理意见之日起30日内提出，已超过期限")


def _rereview_in_time(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    if case.review_decided_on is None:
        return SPECIFIC_REFUSALS[(ev.ReReviewRequested, "已送达")]
    if case.rereview_requested_on is not None:
        return "已申请过复核，不能重复申请"
    return _late_for("rereview_request", case, day, limits, "复核申请应在收到复查意见之日起30日内提出，已超过期限")


def _bar_after_rereview(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    if case.rereview_decided_on is None:
        return "尚未复核，不能作出不再受理决定：复核终结后方可（C22 第36条）"
    return "已作出不再受理决定" if case.barred else None


def _supervision_known(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.SupervisionAnswered)
    order = next((s for s in case.supervision if s.order == event.order), None)
    if order is None:
        return f"没有编号为 {event.order} 的督办"
    return f"督办 {event.order} 已答复" if order.answered_on is not None else None


def _supervision_new(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.SupervisionOrdered)
    return f"督办编号 {event.order} 已使用" if any(s.order == event.order for s in case.supervision) else None


def _correction_names_earlier(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.EventCorrected)
    if event.corrects_version > case.version:
        return f"被更正的事件（版本 {event.corrects_version}）不存在：本案当前版本为 {case.version}"
    return None


def _objection_ruling(case: Case, event: Event, day: date, limits: Limits) -> str | None:
    assert isinstance(event, ev.JurisdictionObjectionResolved)
    if event.ruling == "异议成立" and not event.to_unit:
        return "异议成立时须指定改由哪个单位办理（to_unit）"
    return None


GUARDS: dict[type[Event], tuple[Guard, ...]] = {
    ev.JurisdictionObjected: (_objection_in_time,),
    ev.JurisdictionObjectionResolved: (_objection_ruling,),
    ev.DecisionIssued: (_hearing_closed,),
    ev.ReviewDecided: (_hearing_closed,),
    ev.ReReviewDecided: (_hearing_closed,),
    ev.HearingStarted: (_hearing_can_start,),
    ev.HearingEnded: (_hearing_can_end,),
    ev.DeadlineExtended: (_extension_allowed,),
    ev.SatisfactionRated: (_rating_once,),
    ev.RatingExpired: (_rating_once,),
    ev.ReviewRequested: (_review_in_time,),
    ev.ReReviewRequested: (_rereview_in_time,),
    ev.FurtherPetitionsBarred: (_bar_after_rereview,),
    ev.SupervisionOrdered: (_supervision_new,),
    ev.SupervisionAnswered: (_supervision_known,),
    ev.EventCorrected: (_correction_names_earlier,),
}


def refusal(case: Case, event: Event, day: date, limits: Limits) -> tuple[str, str] | None:
    """Why ``event`` may not happen to ``case`` on ``day`` as (code, reason); None when it may.

    ``illegal_transition``: the stage does not allow the move; ``rule_violation``: a
    guard (dates, once-only rules) refuses it.
    """
    name = chinese_name(type(event))
    if case.stage == "已归档" and not isinstance(event, ev.EventCorrected):
        return "illegal_transition", f"案件 {case.number} 已归档，不能再「{name}」"
    if case.barred and type(event) not in ALLOWED_AFTER_BAR:
        return "illegal_transition", "该事项已复核终结并作出不再受理决定，同一事实和理由不再受理（C22 第36条）"
    allowed, _ = TRANSITIONS[type(event)]
    if case.stage not in allowed:
        specific = SPECIFIC_REFUSALS.get((type(event), case.stage))
        stages = "、".join(sorted(allowed))
        return "illegal_transition", specific or (
            f"案件当前状态为「{case.stage}」，不能「{name}」；该操作只能在以下状态进行：{stages}"
        )
    for guard in GUARDS.get(type(event), ()):
        reason = guard(case, event, day, limits)
        if reason:
            return "rule_violation", reason
    return None


# ── Folding events into state ────────────────────────────────────────────────


def _registered(envelope: Envelope) -> Case:
    e = envelope.event
    assert isinstance(e, ev.PetitionRegistered)
    return Case(
        id=envelope.originator_id,
        version=envelope.originator_version,
        number=e.number,
        stage="已登记",
        channel=e.channel,
        subject=e.subject,
        flags=tuple(e.flags),
        petitioners=tuple(e.petitioners),
        persons=e.persons,
        home_township=e.home_township,
        registered_by=(envelope.original_actor or envelope.actor).unit,
        repeat_of=e.repeat_of,
        accused=tuple(e.accused),
        received_on=business_day(envelope.occurred_at),
        stage_since=envelope.occurred_at,
        reception=e.reception,
    )


ROUTING_AWAY = (ev.PetitionerRedirected, ev.RoutedToStatutoryChannel, ev.CaseReferred)
"""Routes that take the item out of 信访 handling: nothing is left to accept."""


def _hand_to(case: Case, e: Event, day: date) -> dict[str, object]:
    unit = getattr(e, "to_unit", None)
    changes: dict[str, object] = {"routed_on": case.routed_on or day, "unit_received_on": case.unit_received_on or day,
                                  "handoffs": case.handoffs + (1 if unit else 0)}
    if isinstance(e, ROUTING_AWAY):
        changes["routed_away_on"] = day
    if unit:
        changes["current_unit"] = unit
    if isinstance(e, ev.CaseAssigned):
        changes["report_due"] = e.report_due
    return changes


def _objection_resolved(case: Case, e: Event, day: date) -> dict[str, object]:
    assert isinstance(e, ev.JurisdictionObjectionResolved)
    if e.ruling == "异议成立" and e.to_unit:  # routing stays done; the new unit's acceptance clock starts
        return {"current_unit": e.to_unit, "unit_received_on": day, "handoffs": case.handoffs + 1}
    return {}


def _hearing_ended(case: Case, e: Event, day: date) -> dict[str, object]:
    assert case.hearing_since is not None
    if case.stage != "复核中":
        return {"hearing_since": None}
    paused = case.rereview_hearing_days + (day - case.hearing_since).days
    return {"hearing_since": None, "rereview_hearing_days": paused}


def _rated(case: Case, e: Event, day: date) -> dict[str, object]:
    value = e.rating if isinstance(e, ev.SatisfactionRated) else "超期未评价"
    return {"ratings": (*case.ratings, (e.party, value))}  # type: ignore[attr-defined]


def _supervised(case: Case, e: Event, day: date) -> dict[str, object]:
    assert isinstance(e, ev.SupervisionOrdered)
    order = Supervision(e.order, e.to_unit, day, e.reply_due)
    return {"supervision": (*case.supervision, order)}


def _supervision_answered(case: Case, e: Event, day: date) -> dict[str, object]:
    assert isinstance(e, ev.SupervisionAnswered)
    return {
        "supervision": tuple(
            msgspec.structs.replace(s, answered_on=day) if s.order == e.order else s for s in case.supervision
        )
    }


def _on(field: str) -> Callable[[Case, Event, date], dict[str, object]]:
    return lambda case, e, day: {field: day}


CHANGES: dict[type[Event], Callable[[Case, Event, date], dict[str, object]]] = {
    ev.CaseForwarded: _hand_to,
    ev.CaseAssigned: _hand_to,
    ev.CaseReferred: _hand_to,
    ev.PetitionerRedirected: _hand_to,
    ev.RoutedToStatutoryChannel: _hand_to,
    ev.CaseAccepted: _on("accepted_on"),
    ev.AcceptanceRefused: _on("refused_on"),
    ev.JurisdictionObjected: lambda case, e, day: {"objections": case.objections + 1, "objected_on": day},
    ev.JurisdictionObjectionResolved: _objection_resolved,
    ev.InvestigationRecorded: lambda case, e, day: {} if case.investigated_on else {"investigated_on": day},
    ev.HearingStarted: _on("hearing_since"),
    ev.HearingEnded: _hearing_ended,
    ev.DeadlineExtended: lambda case, e, day: {"extension_days": e.days},  # type: ignore[attr-defined]
    ev.DecisionIssued: _on("decided_on"),
    ev.DecisionServed: _on("served_on"),
    ev.SatisfactionRated: _rated,
    ev.RatingExpired: _rated,
    ev.ReviewRequested: _on("review_requested_on"),
    ev.ReviewDecided: _on("review_decided_on"),
    ev.ReReviewRequested: _on("rereview_requested_on"),
    ev.ReReviewDecided: _on("rereview_decided_on"),
    ev.FurtherPetitionsBarred: lambda case, e, day: {"barred": True},
    ev.CaseConcluded: _on("concluded_on"),
    ev.ConclusionCertified: _on("certified_on"),
    ev.CaseArchived: _on("archived_on"),
    ev.SupervisionOrdered: _supervised,
    ev.SupervisionAnswered: _supervision_answered,
    ev.LeaderAssigned: lambda case, e, day: {"leader": e.leader},  # type: ignore[attr-defined]
}


def evolve(case: Case | None, envelope: Envelope) -> Case:
    """The case after ``envelope``: the fold every replay and projection shares."""
    e = envelope.event
    if case is None:
        return _registered(envelope)
    changes = CHANGES.get(type(e))
    updates = changes(case, e, business_day(envelope.occurred_at)) if changes else {}
    _, stage = TRANSITIONS[type(e)]
    if stage is not None:
        updates["stage"] = stage
        updates["stage_since"] = max(case.stage_since, envelope.occurred_at)
    return msgspec.structs.replace(case, version=envelope.originator_version, **updates)
