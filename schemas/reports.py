"""Reports: case board, accountability, indicators and the signed year-end appraisal.

Every report states what it was computed from (:class:`Basis`): the period (business
time), the knowledge time ``as_of`` and the log prefix it selects (tree size and root),
and the rule-set fingerprint. Every figure carries its numerator and denominator and
the cases behind it. Encoded as canonical JSON (``ledger.canonical``: sorted keys, no whitespace),
the same inputs give the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from schemas.rules import AwardReport, Finding


class Ratio(msgspec.Struct, frozen=True, kw_only=True):
    """numerator ÷ denominator; ``cases`` are counted in the numerator, ``others`` make up the rest."""

    numerator: int
    denominator: int
    value: float | None
    """The fraction rounded to 6 places; None when the denominator is 0."""
    cases: list[str] = []
    others: list[str] = []


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """A count and the cases (or record keys) behind it."""

    count: int
    cases: list[str] = []


class PluginRef(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: str
    config: dict[str, Any] = {}


class Parameters(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds a report applies; part of its inputs."""

    backfill_hours: int = 72
    """补录: an entry recorded more than this many hours after it happened (a declared migration's history excluded)."""
    handoff_limit: int = 2
    """推诿: a case handed between units (hand-offs plus jurisdiction objections) more than this many times."""


class Basis(msgspec.Struct, frozen=True, kw_only=True):
    """What a report was computed from: enough to re-derive it."""

    report: str
    period: str
    """The period's label (2021年, 2021年3月, 2021-01-01至2021-06-30)."""
    period_start: date
    period_end: date
    as_of: datetime | None
    """Knowledge time: only events recorded at or before it count (None: the whole log)."""
    reference_day: date
    """The day clocks are read on: the period's last day, or as_of's day (or today) if earlier."""
    tree_size: int
    """The log prefix: events ``0 … tree_size − 1``."""
    root: str
    """Hex RFC 9162 root of that prefix."""
    rules_fingerprint: str
    plugins: list[PluginRef]
    unit: str | None = None
    parameters: Parameters = Parameters()


# ── Case board ────────────────────────────────────────────────────────────────


class Deadline(msgspec.Struct, frozen=True, kw_only=True):
    step: str
    label: str
    due: date
    provisional: bool = False
    days_late: int = 0


class BoardRow(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    stage: str
    channel: str
    subject: str
    received_on: date
    unit: str | None
    """The responsible unit (责任单位) now."""
    leader: str | None
    flags: list[str]
    """Stated and plugin flags, plus 重复 / 包案 / 督办 / 超期 / 推诿 / 补录 as they apply."""
    running: list[Deadline]
    """Clocks still running, earliest first."""
    overdue: list[Deadline]
    """Duty clocks past due on the reference day (running or stopped late)."""
    handoffs: int
    objections: int
    version: int


class BoardReport(msgspec.Struct, frozen=True, kw_only=True):
    """案件看板: every case received in the period."""

    basis: Basis
    cases: list[BoardRow]


# ── Accountability ───────────────────────────────────────────────────────────


class LateClock(msgspec.Struct, frozen=True, kw_only=True):
    """A duty clock due in the period and missed: stopped late, or still open past due."""

    case: str
    step: str
    label: str
    due: date
    done: date | None
    days_late: int
    official: str | None = None


class SupervisionItem(msgspec.Struct, frozen=True, kw_only=True):
    case: str
    order: str
    ordered_on: date
    reply_due: date
    answered_on: date | None
    days_late: int


class Bounce(msgspec.Struct, frozen=True, kw_only=True):
    """推诿: a case passed between units more often than the limit."""

    case: str
    handoffs: int
    objections: int
    units: list[str]


class LetterItem(msgspec.Struct, frozen=True, kw_only=True):
    letter: str
    kind: str
    issued_on: date
    reply_due: date
    answered_on: date | None
    days_late: int
    cases: list[str]


class DecisionItem(msgspec.Struct, frozen=True, kw_only=True):
    decision: str
    measure: str
    decided_on: date
    unit: str | None
    official: str | None
    grounds: str
    cases: list[str]


class BackfillEntry(msgspec.Struct, frozen=True, kw_only=True):
    """补录: an entry recorded long after it happened."""

    seq: int
    kind: str
    """Aggregate kind: case, dispute, incident …"""
    key: str
    """Case number or record key."""
    type: str
    name: str
    actor: str
    unit: str
    occurred_at: datetime
    recorded_at: datetime
    hours: int
    """recorded_at − occurred_at, whole hours."""


class IdentityReadItem(msgspec.Struct, frozen=True, kw_only=True):
    """身份信息查阅: who read whose identity, on which day, for which case and purpose (from ``IdentityRead``)."""

    read: str
    ref: str
    """The petitioner whose identity was read (a reference, never the identity)."""
    case: str | None
    purpose: str
    day: date
    official: str
    """Who read it (the recorded actor)."""
    unit: str


class UnitAccountability(msgspec.Struct, frozen=True, kw_only=True):
    unit: str
    name: str
    handled: Tally
    """Cases the unit acted on, or that were handed to it, in the period."""
    late_routing: Ratio
    """Route clocks (登记后转送交办) due in the period: missed ÷ due. Charged to the registering unit."""
    late_acceptance: Ratio
    """Acceptance clocks due in the period: missed ÷ due."""
    late_decisions: Ratio
    """Decision, review, re-review and 交办-report clocks due in the period: missed ÷ due."""
    late_items: list[LateClock]
    supervision_late: Ratio
    """督办 received in the period: answered late or still unanswered past due ÷ received."""
    supervision_items: list[SupervisionItem]
    bounced: Ratio
    """Cases the unit held: passed around more than the limit ÷ all it held."""
    bounces: list[Bounce]
    unsatisfied: Ratio
    """不满意 ÷ ratings of the unit given in the period."""
    recommendations_late: Ratio
    """三函一单 received in the period: answered late or unanswered past due ÷ received."""
    recommendations: list[LetterItem]
    decisions: list[DecisionItem]
    """Accountability decisions on the unit (or its officials) in the period."""
    backfill: Ratio
    """Entries recorded by the unit about the period: recorded late ÷ all (imports included; a
    declared migration's history, dated before its cut-off, excluded)."""
    backfill_entries: list[BackfillEntry]
    identity_reads: list[IdentityReadItem] = []
    """Petitioners' identities the unit's officials read in the period."""


class OfficialAccountability(msgspec.Struct, frozen=True, kw_only=True):
    official: str
    name: str
    unit: str
    handled: Tally
    late_acceptance: Ratio
    late_decisions: Ratio
    late_items: list[LateClock]
    decisions: list[DecisionItem]
    backfill: Ratio
    backfill_entries: list[BackfillEntry]
    identity_reads: list[IdentityReadItem] = []
    """Petitioners' identities the official read in the period."""


class MigrationItem(msgspec.Struct, frozen=True, kw_only=True):
    """A declared migration of history from an older system: what an inspector audits before trusting it."""

    migration: str
    source: str
    cutoff: datetime
    """Only steps that happened before it were imported."""
    expected: int
    imported: int
    """Entries imported under it (in the report's log prefix)."""
    declared_on: date
    declared_by: str
    """The administrator who declared it."""
    unit: str
    note: str = ""


class AccountabilityReport(msgspec.Struct, frozen=True, kw_only=True):
    """问责报告: per unit and per official."""

    basis: Basis
    units: list[UnitAccountability]
    officials: list[OfficialAccountability]
    findings: list[Finding] = []
    """What the active rule plugins find (三函一单 recommended)."""
    migrations: list[MigrationItem] = []
    """Migrations declared by the period's end: their history is not counted as 补录."""


# ── Indicators ────────────────────────────────────────────────────────────────


class Timeliness(msgspec.Struct, frozen=True, kw_only=True):
    """A clock cohort (due in the period) in buckets, and the on-time rate over all of them."""

    on_time: Tally
    late: Tally
    """Stopped after the due day."""
    open_overdue: Tally
    """Still running on the reference day, past due."""
    open_pending: Tally
    """Still running on the reference day, not yet due."""
    rate: Ratio


class IncidentCount(msgspec.Struct, frozen=True, kw_only=True):
    """越级 / 集体 / 非正常 / 极端 by destination level: 批次 (incidents) and 人次 (persons)."""

    kind: str
    level: str
    batches: int
    persons: int
    incidents: list[str]


class ReceptionTotals(msgspec.Struct, frozen=True, kw_only=True):
    """领导接访: sessions, 批次, 人次, answered on the spot, referred."""

    sessions: Tally
    batches: int
    persons: int
    answered_on_spot: int
    referred: int


class PluginIndicator(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    unit: str | None
    ratio: Ratio
    basis: str
    plugin: str
    target_percent: int | None = None
    scope: list[str] = []
    """The units a plugin limited to some units computed it for (empty: the whole ledger)."""


class UnitIndicators(msgspec.Struct, frozen=True, kw_only=True):
    unit: str
    """Unit code; ``*`` for the whole ledger."""
    name: str
    timely_acceptance: Timeliness
    """及时受理率: acceptance clocks due in the period (first-time items, 涉法涉诉 excluded)."""
    on_time_conclusion: Timeliness
    """按期办结率: decision clocks due in the period."""
    participation_office: Ratio
    """参评率（信访部门）: rated ÷ (rated + 超期未评价), ratings given in the period."""
    participation_unit: Ratio
    """参评率（责任单位）."""
    satisfaction_office: Ratio
    """满意率（信访部门）: (满意 + 基本满意) ÷ rated."""
    satisfaction_unit: Ratio
    """满意率（责任单位）."""
    conclusion: Ratio
    """办结率: accepted in the period and concluded by its end ÷ accepted in the period."""
    repeat: Ratio
    """重复信访率: repeat items ÷ items registered in the period (by home township)."""
    leader_cases: Ratio
    """包案化解率: cases a leader took on in the period and concluded by its end."""
    reception_resolution: Ratio = msgspec.field(default_factory=lambda: Ratio(numerator=0, denominator=0, value=None))
    """接访化解率: items received at a 领导接访 in the period, concluded by its end ÷ those no longer
    within their time limit (an item still handled in time is not a failure: see
    ``reception_open_in_time``)."""
    reception_open_in_time: Tally = msgspec.field(default_factory=lambda: Tally(count=0))
    """接访事项按期办理中: not concluded, no time limit missed, a statutory clock still running."""
    disputes: Ratio
    """矛盾纠纷化解率: disputes found in the period and resolved by its end ÷ found."""
    disputes_mediated: Ratio
    """调处化解率: of the disputes found in the period and mediated, resolved ÷ mediated."""
    follow_up: Ratio
    """回访核实: items followed up in the period, reached ÷ followed up."""
    follow_up_unsatisfied: Tally
    """Items whose follow-up did not verify satisfaction (on-site check / rectification)."""
    incidents: list[IncidentCount]
    receptions: ReceptionTotals
    plugin: list[PluginIndicator] = []


class BacklogFigure(msgspec.Struct, frozen=True, kw_only=True):
    """积案批次: resolved by the period's end ÷ listed."""

    batch: str
    name: str
    listed_on: date
    resolution: Ratio


class IndicatorReport(msgspec.Struct, frozen=True, kw_only=True):
    """考核指标 (domain §4) per unit and for the whole ledger."""

    basis: Basis
    total: UnitIndicators
    units: list[UnitIndicators]
    backlog: list[BacklogFigure]
    plugin: list[PluginIndicator] = []
    """Whole-ledger indicators the plugins add (``unit`` None)."""


# ── Appraisal ────────────────────────────────────────────────────────────────


class AppraisalBody(msgspec.Struct, frozen=True, kw_only=True):
    """The year-end appraisal: everything signed."""

    format: str = "xinfang-appraisal/1"
    software: str
    """The ledger software that computed it (``xinfang-ledger <version>``)."""
    basis: Basis
    indicators: IndicatorReport
    accountability: AccountabilityReport
    awards: AwardReport
    """三无 and other titles, as the active award plugins judge them."""


class Signature(msgspec.Struct, frozen=True, kw_only=True):
    algorithm: str = "Ed25519"
    key: str
    """Verifier key in signed-note form ``<name>+<hex key id>+<base64(0x01 ‖ public key)>``."""
    value: str
    """base64 Ed25519 signature over the canonical JSON of ``body`` (sorted keys, no whitespace)."""


class Appraisal(msgspec.Struct, frozen=True, kw_only=True):
    body: AppraisalBody
    signature: Signature


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """One figure that differs between an appraisal and its re-derivation."""

    path: str
    recorded: Any
    derived: Any


class Damage(msgspec.Struct, frozen=True, kw_only=True):
    """A stored event inside the appraisal's prefix that no longer matches its leaf."""

    seq: int
    kind: str
    key: str | None
    type: str | None
    problem: str


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``appraise --check`` found."""

    reproduced: bool
    signature_valid: bool
    key_matches_ledger: bool | None
    tree_size: int
    """The appraisal's prefix."""
    current_size: int
    prefix_root_matches: bool
    consistent: bool
    """A consistency proof from the appraisal's tree to today's verifies."""
    consistency_proof: list[str]
    current_root: str
    recorded_after: int
    """Events recorded after as_of: they do not count."""
    rules_fingerprint: str
    rules_changed: bool
    rules_then: list[PluginRef]
    rules_now: list[PluginRef]
    damage: list[Damage]
    differences: list[Difference]
    reasons: list[str]
    """Why, in Chinese."""


class AppraisalRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """考核请求：与 xinfang appraise 相同。"""

    period: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    """考核期：2021、2021-03 或 2021-01-01..2021-06-30；与 from/to 二选一。"""
    start: date | None = msgspec.field(default=None, name="from")
    """考核期开始日（含）。"""
    end: date | None = msgspec.field(default=None, name="to")
    """考核期结束日（含）。"""
    as_of: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    """知识时间：2022-01-15（当日结束）或带时区的时间，不能晚于现在；省略为现在。"""
    backfill_hours: Annotated[int, msgspec.Meta(ge=24, le=87_600)] = Parameters().backfill_hours
    handoffs: Annotated[int, msgspec.Meta(ge=1, le=1000)] = Parameters().handoff_limit


class AppraisalWritten(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang appraise --out FILE --json``：写出的考核文件及其依据。"""

    file: str
    tree_size: int
    root: str
    rules_fingerprint: str
    as_of: datetime | None
    awards_total: int
