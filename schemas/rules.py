"""Rule contracts shared by the core and plugins: what rule hooks answer and what is derived from them.

Time limits and the clocks derived from them, official holiday schedules, indicators,
award verdicts and accountability findings. Plugins build these Structs; the rules
host (:class:`ledger.rules.RuleSet`) checks their type and stamps the plugin's name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from schemas.common import RecommendationKind, TownshipClass, UnitKind

DayType = Literal["natural", "working"]

Milestone = Literal[
    "received_on",
    "routed_on",
    "unit_received_on",
    "objected_on",
    "accepted_on",
    "refused_on",
    "routed_away_on",
    "investigated_on",
    "decided_on",
    "served_on",
    "review_requested_on",
    "review_decided_on",
    "rereview_requested_on",
    "rereview_decided_on",
    "concluded_on",
]
"""Case dates a clock may start or stop on (fields of the case state).

``routed_on`` is the 信访部门's first routing and never moves; ``unit_received_on`` is the
day the responsible unit received the item — the routing, or the ruling that handed it to
another unit after an upheld jurisdiction objection.
"""


class TimeLimit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A time limit: which milestone starts it, which stop it, how long, from when, and why.

    ``duty`` limits bind the office (missing one is 超期); ``window`` limits bound the
    petitioner or the unit's own objections (a late request is refused); ``target``
    limits are local goals reported as warnings beside the statutory ones.

    A step may have several versions, one per law in force (``effective_from``): a clock
    follows the version in force on the day it starts, and cites that version's basis.
    """

    step: str
    label: str
    days: int
    day_type: DayType
    basis: str
    starts: Milestone
    stops: tuple[Milestone, ...] = ()
    kind: Literal["duty", "window", "target"] = "duty"
    extendable: bool = False
    paused_by_hearing: bool = False
    first_time_only: bool = False
    """Applies to 初信初访 only (cases that are not a repeat of an earlier item)."""
    effective_from: date | None = None
    """The first day this version applies to (by the day its clock starts); None: every day."""


class Clock(msgspec.Struct, frozen=True, kw_only=True):
    """A time limit applied to one case."""

    step: str
    label: str
    kind: str
    basis: str
    started_on: date
    due: date
    provisional: bool
    stopped_on: date | None
    days_late: int
    """Days past due: when stopped late, or still running past due on the reference day."""

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


class HolidaySchedule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One year's official holiday schedule (国务院办公厅放假安排), for years the built-in calendar lacks.

    ``holidays`` are the rest days (weekends inside a holiday may be listed or not), ``workdays``
    the 调休 make-up working days; every other Monday to Friday is a working day.
    """

    year: Annotated[int, msgspec.Meta(ge=2000, le=2200)]
    holidays: list[date]
    workdays: list[date] = []
    basis: str
    """The notice it comes from, e.g. 《国务院办公厅关于2027年部分节假日安排的通知》."""


class Indicator(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An indicator a plugin adds to reports: a count over a count, for one unit or the whole ledger."""

    key: str
    """Stable machine name, prefixed with the plugin's name: ``qinjiang.speedy_on_time``."""
    label: str
    unit: str | None
    """Unit code, or None for the whole ledger."""
    numerator: Annotated[int, msgspec.Meta(ge=0)]
    denominator: Annotated[int, msgspec.Meta(ge=0)]
    basis: str
    target_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    plugin: str = ""
    """Set by the rules host: the plugin that computed it."""
    scope: list[str] = []
    """Set by the rules host: the units a plugin limited to some units computed it for (and those
    below them); empty for a plugin of the whole ledger."""

    @property
    def percent(self) -> float | None:
        return None if self.denominator == 0 else 100 * self.numerator / self.denominator


class AwardFailure(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why a unit missed a title: the criterion, and the incident and date when one is to blame."""

    criterion: str
    reason: str
    incident: str | None = None
    occurred_on: date | None = None


VerdictStatus = Literal["judged", "undetermined", "not_applicable"]
"""``judged``: passed or not; ``undetermined``: the facts do not allow a verdict (an incident
in the township with no village recorded, for a village title); ``not_applicable``: the title
does not apply (a unit that received no ratings, a period that is not the title's)."""

VERDICT_WORDS: dict[str, str] = {"undetermined": "待定", "not_applicable": "不适用"}


class AwardVerdict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One unit's result for one title (三无乡镇, 三无村(社区), 信访工作人民满意单位 …) in a period."""

    unit: str
    name: str
    kind: UnitKind
    township_class: TownshipClass | None
    title: str
    passed: bool
    failures: list[AwardFailure] = []
    """Why it failed; for an ``undetermined`` verdict, the incidents that may break a criterion."""
    amount: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Award in 元 (0 when not passed)."""
    note: str = ""
    status: VerdictStatus = "judged"
    """Only a ``judged`` verdict may pass; the others pass nothing and award nothing."""
    plugin: str = ""
    """Set by the rules host: the plugin that judged it."""

    @property
    def result(self) -> str:
        """通过 / 未通过 / 待定 / 不适用."""
        return VERDICT_WORDS.get(self.status) or ("通过" if self.passed else "未通过")


class Finding(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An accountability finding: a unit qualifies for a letter (三函一单) or more, on stated grounds."""

    unit: str
    recommendation: RecommendationKind
    grounds: str
    cases: list[str]
    basis: str
    plugin: str = ""
    """Set by the rules host: the plugin that found it."""


class AwardReport(msgspec.Struct, frozen=True, kw_only=True):
    """Awards of a period as derived from a prefix of the log under a named rule set.

    The same events and the same fingerprint give the same bytes
    (canonical JSON, ``ledger.canonical``).
    """

    period: str
    start: date
    end: date
    as_of: datetime | None
    tree_size: int
    rules_fingerprint: str
    verdicts: list[AwardVerdict]
    total: int
    """Sum of the awards, in 元."""


class PluginInfo(msgspec.Struct, frozen=True):
    """One active plugin as the fingerprint covers it, and the hooks it implements.

    ``config`` is the effective configuration, with the units the plugin's rules apply to under
    ``units`` when they are limited (:mod:`ledger.scope`).
    """

    name: str
    version: str
    hooks: list[str]
    config: dict[str, Any] = {}


class RuleSetInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang plugins --json``：生效的规则插件、规则配置文件、被屏蔽的插件和规则集指纹。"""

    fingerprint: str
    rules_file: str | None
    blocked: list[str]
    plugins: list[PluginInfo]
