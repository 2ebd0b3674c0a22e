"""Commands: what a clerk, a unit or a migration asks the ledger to do (imperative names).

A command is an event's payload plus the envelope a request needs: the client's
``command_id`` (repeating it is safe), the business time ``occurred_at`` the actor
states, and optionally the ``expected_version`` of the case the actor saw. Case
commands name their ``case`` by number. The actor is never part of a command: it
comes from the token or the CLI operator.

Each command is generated from its event so the two can never drift apart;
:data:`COMMAND_SPECS` is the table to read.
"""

from __future__ import annotations

from datetime import datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

import msgspec

from schemas import events as ev
from schemas.common import STRICT, WHOLE, CaseNumber, SourceActor

COMMAND_ID_PATTERN = r"^[0-9A-Za-z_.:\-]+" + WHOLE
CommandId = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=COMMAND_ID_PATTERN)]
BusinessTime = Annotated[datetime, msgspec.Meta(tz=True)]
"""Time with its zone: a bare local time is ambiguous in an audit trail."""


class Command(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="type",
    tag=True,
):
    """Base of every command."""

    event: ClassVar[type[ev.Event]]
    command_id: CommandId
    occurred_at: BusinessTime
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    original_actor: SourceActor | None = None
    """Only in a declared migration's import: who did the step, as the source system states it."""


class CommandSpec(msgspec.Struct, frozen=True):
    """One row of the command table: name, Chinese name, the event it produces."""

    name: str
    chinese: str
    event: type[ev.Event]


COMMAND_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("RegisterPetition", "登记信访事项", ev.PetitionRegistered),
    CommandSpec("ForwardCase", "转送", ev.CaseForwarded),
    CommandSpec("AssignCase", "交办", ev.CaseAssigned),
    CommandSpec("RedirectPetitioner", "告知", ev.PetitionerRedirected),
    CommandSpec("RouteToStatutoryChannel", "导入法定途径", ev.RoutedToStatutoryChannel),
    CommandSpec("ReferCase", "转政法或纪检监察", ev.CaseReferred),
    CommandSpec("AcceptCase", "受理", ev.CaseAccepted),
    CommandSpec("RefuseAcceptance", "不予受理", ev.AcceptanceRefused),
    CommandSpec("ObjectToJurisdiction", "提出管辖异议", ev.JurisdictionObjected),
    CommandSpec("ResolveJurisdictionObjection", "处理管辖异议", ev.JurisdictionObjectionResolved),
    CommandSpec("RecordInvestigation", "记录调查核实", ev.InvestigationRecorded),
    CommandSpec("StartHearing", "开始听证", ev.HearingStarted),
    CommandSpec("EndHearing", "结束听证", ev.HearingEnded),
    CommandSpec("RecordSettlement", "记录调解和解", ev.SettlementReached),
    CommandSpec("ExtendDeadline", "延长办理期限", ev.DeadlineExtended),
    CommandSpec("IssueDecision", "出具处理意见", ev.DecisionIssued),
    CommandSpec("ServeDecision", "送达处理意见", ev.DecisionServed),
    CommandSpec("RateSatisfaction", "评价满意度", ev.SatisfactionRated),
    CommandSpec("ExpireRating", "登记超期未评价", ev.RatingExpired),
    CommandSpec("RequestReview", "申请复查", ev.ReviewRequested),
    CommandSpec("DecideReview", "出具复查意见", ev.ReviewDecided),
    CommandSpec("RequestReReview", "申请复核", ev.ReReviewRequested),
    CommandSpec("DecideReReview", "出具复核意见", ev.ReReviewDecided),
    CommandSpec("BarFurtherPetitions", "不再受理", ev.FurtherPetitionsBarred),
    CommandSpec("ConcludeCase", "办结", ev.CaseConcluded),
    CommandSpec("CertifyConclusion", "审核认定办结", ev.ConclusionCertified),
    CommandSpec("RecordFollowUp", "回访核实", ev.FollowUpVisited),
    CommandSpec("ArchiveCase", "归档", ev.CaseArchived),
    CommandSpec("OrderSupervision", "督办", ev.SupervisionOrdered),
    CommandSpec("AnswerSupervision", "答复督办", ev.SupervisionAnswered),
    CommandSpec("AssignLeader", "领导包案", ev.LeaderAssigned),
    CommandSpec("CorrectEvent", "更正", ev.EventCorrected),
    CommandSpec("RegisterUnit", "登记单位", ev.UnitRegistered),
    CommandSpec("RegisterOfficial", "登记干部", ev.OfficialRegistered),
    CommandSpec("IssueRecommendation", "发出三函一单", ev.RecommendationIssued),
    CommandSpec("AnswerRecommendation", "答复三函一单", ev.RecommendationAnswered),
    CommandSpec("DecideAccountability", "作出问责决定", ev.AccountabilityDecided),
    CommandSpec("HoldLeaderReception", "登记领导接访", ev.LeaderReceptionHeld),
    CommandSpec("ListBacklogBatch", "交办积案批次", ev.BacklogBatchListed),
    CommandSpec("ResolveBacklogCase", "化解积案", ev.BacklogCaseResolved),
    CommandSpec("RecordDispute", "登记矛盾纠纷", ev.DisputeFound),
    CommandSpec("MediateDispute", "调处矛盾纠纷", ev.DisputeMediated),
    CommandSpec("ResolveDispute", "化解矛盾纠纷", ev.DisputeResolved),
    CommandSpec("RecordIncident", "登记越级集体非正常访", ev.IncidentRecorded),
    CommandSpec("RecordIdentity", "登记信访人身份信息", ev.PetitionerIdentityRecorded),
    CommandSpec("EraseIdentity", "销毁信访人身份信息", ev.PetitionerIdentityErased),
    CommandSpec("RecordIdentityRead", "登记身份信息查阅", ev.IdentityRead),
    CommandSpec("DeclareMigration", "声明历史数据迁移", ev.MigrationDeclared),
)


def strict(annotation: Any) -> Any:
    """The input form of an event field's type: logged strings become the stricter input strings."""
    if annotation in STRICT:
        return STRICT[annotation]
    if annotation is datetime:
        return BusinessTime
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return list[strict(args[0])]  # type: ignore[misc]
    if origin in (Union, UnionType):
        return Union[tuple(strict(a) for a in args)]  # noqa: UP007
    return annotation


def _field_definitions(spec: CommandSpec) -> list[tuple[Any, ...]]:
    fields: list[tuple[Any, ...]] = []
    if spec.event.aggregate == "case" and spec.event.key_field is None:
        fields.append(("case", CaseNumber))
    for f in msgspec.structs.fields(spec.event):
        kind = strict(f.type)
        if spec.event is ev.PetitionRegistered and f.name == "number":
            # The ledger numbers the case when the registering system does not.
            fields.append((f.name, kind | None, None))
        elif f.required:
            fields.append((f.name, kind))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, kind, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, kind, f.default))
    return fields


def _define(spec: CommandSpec) -> type[Command]:
    doc = f"{spec.chinese}：产生事件 {spec.event.__name__}（{ev.chinese_name(spec.event)}）。"
    return msgspec.defstruct(
        spec.name,
        _field_definitions(spec),
        bases=(Command,),
        module=__name__,
        namespace={"__doc__": doc, "event": spec.event},
        kw_only=True,
    )


COMMAND_TYPES: tuple[type[Command], ...] = tuple(_define(spec) for spec in COMMAND_SPECS)
COMMANDS_BY_NAME: dict[str, type[Command]] = {cls.__name__: cls for cls in COMMAND_TYPES}
COMMAND_FOR_EVENT: dict[type[ev.Event], type[Command]] = {cls.event: cls for cls in COMMAND_TYPES}
globals().update(COMMANDS_BY_NAME)

AnyCommand = Union[COMMAND_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The tagged union of every command type (tag field ``type``)."""

CASE_COMMAND_TYPES = tuple(c for c in COMMAND_TYPES if c.event.aggregate == "case" and c.event.key_field is None)
CaseCommand = Union[CASE_COMMAND_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The commands addressed to an existing case (tag ``type``); ``POST /api/cases/{number}/commands``
requires ``case`` to equal the path's number."""

command_decoder = msgspec.json.Decoder(AnyCommand)
