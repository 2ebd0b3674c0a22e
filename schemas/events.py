"""Events: what happened, in the past tense, one msgspec Struct each.

These Structs are the storage and wire contract. Each docstring starts with the
Chinese name (before the full-width colon) and cites the legal basis where there is
one (C22 = 《信访工作条例》). Stored bytes are never rewritten: a change of shape
goes through versioned upcasting, a mistake through :class:`EventCorrected`.

Every event belongs to one aggregate kind (``aggregate``). Events that create or
address a non-case aggregate carry its key (``key_field``); case events after the
registration are addressed by the case number the command names.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Union
from uuid import UUID

import msgspec

from schemas.common import (
    Actor,
    Channel,
    Count,
    DecisionOutcome,
    Flag,
    IncidentKind,
    JurisdictionRuling,
    Level,
    LoggedCaseNumber,
    LoggedCode,
    LoggedName,
    LoggedText,
    Measure,
    Persons,
    RatedParty,
    Rating,
    RecommendationKind,
    ReferralAuthority,
    RefusalReason,
    ServiceMethod,
    ServiceReceipt,
    SettlementKind,
    SourceActor,
    TownshipClass,
    UnitKind,
)


class Event(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="type",
    tag=True,
):
    """Base of every event; the tag is the class name."""

    aggregate: ClassVar[str] = "case"
    key_field: ClassVar[str | None] = None


# ── Case: registration and routing ───────────────────────────────────────────


class PetitionRegistered(Event, kw_only=True):
    """登记：信访部门登记信访事项（C22 第17、22条）。"""

    key_field: ClassVar[str | None] = "number"
    number: LoggedCaseNumber
    channel: Channel
    petitioners: list[LoggedCode] = []
    persons: Persons = 1
    subject: LoggedName
    summary: LoggedText = ""
    home_township: LoggedCode
    flags: list[Flag] = []
    repeat_of: LoggedCaseNumber | None = None
    accused: list[LoggedCode] = []
    """Units and officials a 检举 names: they must never read the case."""
    reception: LoggedCode | None = None
    """The 领导接访 session (``LeaderReceptionHeld.session``) the item was received at, if any:
    its items make up the 接访化解率."""


class CaseForwarded(Event, kw_only=True):
    """转送：转送有权处理机关（C22 第22条）。"""

    to_unit: LoggedCode
    note: LoggedText = ""


class CaseAssigned(Event, kw_only=True):
    """交办：交办有权处理机关并限期报告结果（C22 第22条第3款）。"""

    to_unit: LoggedCode
    report_due: date
    note: LoggedText = ""


class PetitionerRedirected(Event, kw_only=True):
    """告知：告知信访人向有权机关提出（C22 第22条）。"""

    reason: LoggedText


class RoutedToStatutoryChannel(Event, kw_only=True):
    """导入法定途径：诉讼、仲裁、行政复议等法定途径（C22 第31条）。"""

    route: LoggedName
    note: LoggedText = ""


class CaseReferred(Event, kw_only=True):
    """转交：转政法机关或纪检监察机关（C22 第28、30条）。"""

    authority: ReferralAuthority
    to_unit: LoggedCode
    note: LoggedText = ""


# ── Case: acceptance ─────────────────────────────────────────────────────────


class CaseAccepted(Event, kw_only=True):
    """受理：有权处理机关受理并书面告知（C22 第23条，收到之日起15日内）。"""

    note: LoggedText = ""


class AcceptanceRefused(Event, kw_only=True):
    """不予受理：书面告知不予受理及理由（C22 第23条）。"""

    reason: RefusalReason
    note: LoggedText = ""


class JurisdictionObjected(Event, kw_only=True):
    """管辖异议：认为不属本机关职权（C22 第23条，5个工作日内）。"""

    reason: LoggedText


class JurisdictionObjectionResolved(Event, kw_only=True):
    """管辖异议处理：异议成立则改由他单位办理。"""

    ruling: JurisdictionRuling
    to_unit: LoggedCode | None = None
    note: LoggedText = ""


# ── Case: handling ───────────────────────────────────────────────────────────


class InvestigationRecorded(Event, kw_only=True):
    """调查核实：记录调查情况（C22 第32条）。"""

    note: LoggedText


class HearingStarted(Event, kw_only=True):
    """听证开始：听证期间不计入复核期限（C22 第36条）。"""

    note: LoggedText = ""


class HearingEnded(Event, kw_only=True):
    """听证结束。"""

    note: LoggedText = ""


class SettlementReached(Event, kw_only=True):
    """调解和解：达成调解或和解协议（C22 第33条）。"""

    kind: SettlementKind
    note: LoggedText = ""


class DeadlineExtended(Event, kw_only=True):
    """延期：经负责人批准延长不超过30日并告知信访人（C22 第34条）。"""

    days: Annotated[int, msgspec.Meta(ge=1, le=30)]
    approved_by: LoggedCode
    petitioner_notified: bool
    note: LoggedText = ""


class DecisionIssued(Event, kw_only=True):
    """出具处理意见：支持、解释说明或不支持（C22 第34条，受理之日起60日内）。"""

    outcome: DecisionOutcome
    note: LoggedText = ""


class DecisionServed(Event, kw_only=True):
    """送达：送达处理意见书。"""

    method: ServiceMethod = "直接送达"
    receipt: ServiceReceipt = "签收"


class SatisfactionRated(Event, kw_only=True):
    """满意度评价：信访人分别评价信访部门和责任单位。"""

    party: RatedParty
    rating: Rating


class RatingExpired(Event, kw_only=True):
    """超期未评价：评价期限届满而信访人未评价。"""

    party: RatedParty


# ── Case: review, re-review, finality ────────────────────────────────────────


class ReviewRequested(Event, kw_only=True):
    """申请复查：收到处理意见之日起30日内（C22 第35条）。"""

    note: LoggedText = ""


class ReviewDecided(Event, kw_only=True):
    """复查意见：收到复查请求之日起30日内（C22 第35条）。"""

    outcome: DecisionOutcome
    note: LoggedText = ""


class ReReviewRequested(Event, kw_only=True):
    """申请复核：收到复查意见之日起30日内（C22 第36条）。"""

    note: LoggedText = ""


class ReReviewDecided(Event, kw_only=True):
    """复核意见：收到复核请求之日起30日内，听证时间不计入（C22 第36条）。"""

    outcome: DecisionOutcome
    note: LoggedText = ""


class FurtherPetitionsBarred(Event, kw_only=True):
    """不再受理：同一事实和理由不再受理（C22 第36条）。"""

    note: LoggedText = ""


# ── Case: conclusion and after ───────────────────────────────────────────────


class CaseConcluded(Event, kw_only=True):
    """办结。"""

    note: LoggedText = ""


class ConclusionCertified(Event, kw_only=True):
    """审核认定办结。"""

    note: LoggedText = ""


class FollowUpVisited(Event, kw_only=True):
    """回访核实：是否联系上、满意度是否核实、是否实地核查、是否责令整改。"""

    reached: bool
    satisfaction_verified: bool | None = None
    onsite_check: bool = False
    rectification_ordered: bool = False
    note: LoggedText = ""


class CaseArchived(Event, kw_only=True):
    """归档。"""

    note: LoggedText = ""


class SupervisionOrdered(Event, kw_only=True):
    """督办：上级信访部门督办并限期答复（C22 第40条）。"""

    order: LoggedCode
    to_unit: LoggedCode
    reply_due: date
    note: LoggedText = ""


class SupervisionAnswered(Event, kw_only=True):
    """督办答复：被督办单位书面答复。"""

    order: LoggedCode
    note: LoggedText = ""


class LeaderAssigned(Event, kw_only=True):
    """领导包案：领导干部包案化解。"""

    leader: LoggedCode
    note: LoggedText = ""


class EventCorrected(Event, kw_only=True):
    """更正：指明被更正的事件（按版本号），原事件保留不变。"""

    corrects_version: Annotated[int, msgspec.Meta(ge=1)]
    reason: LoggedText
    corrected_occurred_at: datetime | None = None
    note: LoggedText = ""


# ── Other aggregates ─────────────────────────────────────────────────────────


class UnitRegistered(Event, kw_only=True):
    """单位登记：县、乡镇、村（社区）、部门，及乡镇类别（一类/二类）。"""

    aggregate: ClassVar[str] = "unit"
    key_field: ClassVar[str | None] = "code"
    code: LoggedCode
    name: LoggedName
    kind: UnitKind
    parent: LoggedCode | None = None
    township_class: TownshipClass | None = None


class OfficialRegistered(Event, kw_only=True):
    """干部登记：姓名、所在单位、职务。"""

    aggregate: ClassVar[str] = "official"
    key_field: ClassVar[str | None] = "code"
    code: LoggedCode
    name: LoggedName
    unit: LoggedCode
    title: LoggedName


class RecommendationIssued(Event, kw_only=True):
    """三函一单：风险提醒函、改进工作建议函、问责建议函、督办单（C22 第40条）。"""

    aggregate: ClassVar[str] = "letter"
    key_field: ClassVar[str | None] = "letter"
    letter: LoggedCode
    kind: RecommendationKind
    to_unit: LoggedCode
    reply_due: date
    cases: list[LoggedCaseNumber] = []
    note: LoggedText = ""


class RecommendationAnswered(Event, kw_only=True):
    """三函一单答复：收函单位书面答复。"""

    aggregate: ClassVar[str] = "letter"
    key_field: ClassVar[str | None] = "letter"
    letter: LoggedCode
    note: LoggedText = ""


class AccountabilityDecided(Event, kw_only=True):
    """问责决定：对单位或干部的问责措施、依据和所涉事项（C22 第42-46条）。"""

    aggregate: ClassVar[str] = "accountability"
    key_field: ClassVar[str | None] = "decision"
    decision: LoggedCode
    measure: Measure
    unit: LoggedCode | None = None
    official: LoggedCode | None = None
    grounds: LoggedText
    cases: list[LoggedCaseNumber] = []


class LeaderReceptionHeld(Event, kw_only=True):
    """领导接访：批次、人次、当场答复、转办。"""

    aggregate: ClassVar[str] = "reception"
    key_field: ClassVar[str | None] = "session"
    session: LoggedCode
    leader: LoggedCode
    unit: LoggedCode
    batches: Count
    persons: Count
    answered_on_spot: Count = 0
    referred: Count = 0


class BacklogBatchListed(Event, kw_only=True):
    """积案交办：上级联席办按批次交办积案（如“中央交办第一批”）。"""

    aggregate: ClassVar[str] = "batch"
    key_field: ClassVar[str | None] = "batch"
    batch: LoggedCode
    name: LoggedName
    cases: list[LoggedCaseNumber]


class BacklogCaseResolved(Event, kw_only=True):
    """积案化解：批次中的一件积案化解。"""

    aggregate: ClassVar[str] = "batch"
    key_field: ClassVar[str | None] = "batch"
    batch: LoggedCode
    case: LoggedCaseNumber
    note: LoggedText = ""


class DisputeFound(Event, kw_only=True):
    """矛盾纠纷排查：排查发现一起矛盾纠纷。"""

    aggregate: ClassVar[str] = "dispute"
    key_field: ClassVar[str | None] = "dispute"
    dispute: LoggedCode
    township: LoggedCode
    subject: LoggedName
    note: LoggedText = ""


class DisputeMediated(Event, kw_only=True):
    """矛盾纠纷调处：开展调解。"""

    aggregate: ClassVar[str] = "dispute"
    key_field: ClassVar[str | None] = "dispute"
    dispute: LoggedCode
    note: LoggedText = ""


class DisputeResolved(Event, kw_only=True):
    """矛盾纠纷化解。"""

    aggregate: ClassVar[str] = "dispute"
    key_field: ClassVar[str | None] = "dispute"
    dispute: LoggedCode
    note: LoggedText = ""


class IncidentRecorded(Event, kw_only=True):
    """越级、集体、非正常访或极端事件：去向层级、人数、属地乡镇，及当事人所在村（社区）。"""

    aggregate: ClassVar[str] = "incident"
    key_field: ClassVar[str | None] = "incident"
    incident: LoggedCode
    kind: IncidentKind
    level: Level
    persons: Persons
    township: LoggedCode
    case: LoggedCaseNumber | None = None
    note: LoggedText = ""
    village: LoggedCode | None = None
    """The village (村/社区) of the people involved, where known: it must lie in ``township``.
    Without it a village-level verdict (三无村) cannot be made for the township's villages."""


class PetitionerIdentityRecorded(Event, kw_only=True):
    """身份信息登记：写入或更新信访人身份信息；只记存储密文的摘要，不记内容（《个人信息保护法》第51条）。

    Written by the server for every write to the identity vault, never by a client. The unit of
    the first write holds the identity: it, the units above it and the 纪检监察 side may read it.
    """

    aggregate: ClassVar[str] = "petitioner"
    key_field: ClassVar[str | None] = "ref"
    ref: LoggedCode
    digest: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the stored ciphertext (nonce ‖ ciphertext): binds the event to what was written."""
    holder: LoggedCode
    """The unit holding the identity: the one that registered the first case naming the reference."""
    case: LoggedCaseNumber | None = None
    """The case the identity was taken down for."""


class PetitionerIdentityErased(Event, kw_only=True):
    """身份信息销毁：销毁信访人身份密钥，账本仍可重放和验证（《个人信息保护法》第47条）。"""

    aggregate: ClassVar[str] = "petitioner"
    key_field: ClassVar[str | None] = "ref"
    ref: LoggedCode
    reason: LoggedText


class MigrationDeclared(Event, kw_only=True):
    """迁移声明：县管理员声明从旧系统迁移历史记录：来源系统、截止时间、预计条数。

    Only the entries imported under a declared migration and dated before its cut-off are
    history rather than entries (补录 detection leaves them out); every other import is an
    ordinary entry, flagged as 补录 when it is recorded late.
    """

    aggregate: ClassVar[str] = "migration"
    key_field: ClassVar[str | None] = "migration"
    migration: LoggedCode
    source: LoggedName
    """The system the history comes from."""
    cutoff: Annotated[datetime, msgspec.Meta(tz=True)]
    """Only steps that happened before this moment may be migrated."""
    expected: Count
    """How many entries the migration is to import; the accountability report sets them against the imported."""
    note: LoggedText = ""


class IdentityRead(Event, kw_only=True):
    """身份信息查阅：谁、何时、因哪件案件读取了信访人身份信息（《个人信息保护法》；C22 第30条）。

    Written by the server for every disclosure of an identity, never by a client: the audit
    trail of who saw a petitioner's (or a 检举人's) name sits in the same tamper-evident log.
    """

    aggregate: ClassVar[str] = "identity_read"
    key_field: ClassVar[str | None] = "read"
    read: LoggedCode
    ref: LoggedCode
    case: LoggedCaseNumber | None = None
    purpose: LoggedText = ""


EVENT_TYPES: tuple[type[Event], ...] = tuple(Event.__subclasses__())
EVENTS_BY_NAME: dict[str, type[Event]] = {cls.__name__: cls for cls in EVENT_TYPES}

AnyEvent = Union[EVENT_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The tagged union of every event type (tag field ``type``)."""


def chinese_name(cls: type) -> str:
    """The Chinese name of an event or command type: its docstring's first line, up to '：' or '。'."""
    first_line = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    return first_line.split("：", 1)[0].split("。", 1)[0].strip()


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event: the fact plus who stated it, when it happened and when it was recorded.

    ``originator_id``/``originator_version`` make it an eventsourcing domain event;
    ``recorded_at`` comes from the server clock, never from the client.
    """

    originator_id: UUID
    originator_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    event: AnyEvent  # type: ignore[valid-type]
    command_id: str | None = None
    batch: str | None = None
    """Import batch the entry came in (provenance only: an import is an ordinary entry)."""
    migration: str | None = None
    """The declared migration (:class:`MigrationDeclared`) the entry belongs to: history from an
    older system, dated before the migration's cut-off — not a back-dated entry."""
    original_actor: SourceActor | None = None
    """Who did the step, as the source system of a migration states it; ``actor`` is then the
    operator who imported it."""
