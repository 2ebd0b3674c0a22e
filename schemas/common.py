"""Value types shared by events, commands and views.

Enumerations carry their Chinese terms as values: they are what clerks read and
what neighbouring systems already send, and they are stable.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Role = Literal["clerk", "handler", "leader", "inspector", "appraiser", "admin", "operator", "system"]
"""登记员 / 承办人 / 领导 / 纪检监察 / 考核 / 管理员 / 本机操作员 / 系统.

``operator`` is the person at the server's own command line who chose to act without a token
(``xinfang --operator NAME``): recorded as such in every event, never issued as a token."""

ROLE_NAMES: dict[str, str] = {
    "clerk": "信访登记员",
    "handler": "承办人",
    "leader": "领导",
    "inspector": "纪检监察人员",
    "appraiser": "考核人员",
    "admin": "管理员",
    "operator": "本机操作员",
    "system": "系统",
}

UnitKind = Literal["县", "乡镇", "村社区", "部门"]
TownshipClass = Literal["一类", "二类"]
Channel = Literal["网上", "来信", "来电", "传真", "来访"]
Flag = Literal["集体", "越级", "非正常", "涉法涉诉", "检举", "紧急"]
Level = Literal["县", "市", "省", "京"]
"""Destination level of a visit: county, city, province, Beijing."""

ReferralAuthority = Literal["政法", "纪检监察"]
RefusalReason = Literal[
    "不属于信访事项",
    "已经或者依法应当通过诉讼仲裁复议解决",
    "已经受理或者正在办理",
    "超出本机关职权范围",
    "信访人不服复核意见",
    "其他依法不予受理情形",
]
DecisionOutcome = Literal["支持", "解释说明", "不支持"]
ServiceMethod = Literal["直接送达", "邮寄送达", "电子送达", "留置送达", "公告送达"]
ServiceReceipt = Literal["签收", "拒收"]
RatedParty = Literal["信访部门", "责任单位"]
Rating = Literal["满意", "基本满意", "不满意"]
SettlementKind = Literal["调解", "和解"]
RecommendationKind = Literal["风险提醒函", "改进工作建议函", "问责建议函", "督办单"]
Measure = Literal["责令改正", "通报批评", "约谈", "诫勉", "组织处理", "党纪政务处分"]
IncidentKind = Literal["越级", "集体", "非正常", "极端"]
JurisdictionRuling = Literal["异议成立", "异议不成立"]

# ── Strings as the log holds them ────────────────────────────────────────────
# Events are the storage contract: whatever was once accepted must decode for ever (stored bytes
# are never rewritten), so these keep the constraints events were first written under. New input
# is held to the stricter types below (commands are generated with them: schemas.commands).

LoggedCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.\-]+$")]
LoggedCaseNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_\-]+$")]
LoggedText = Annotated[str, msgspec.Meta(max_length=2000)]
LoggedName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]

# ── Strings as input must be ─────────────────────────────────────────────────

WHOLE = r"$(?!\n)"
"""End of a whole-string pattern. msgspec matches with Python's ``re.search``, where ``$`` also
matches before a final newline (so ``2021-000011`` followed by a newline would pass as a look-alike
of ``2021-000011``); the look-ahead refuses that, and reads the same in ECMA-262 (JSON Schema)."""

CODE_PATTERN = r"^[0-9A-Za-z_.\-]+" + WHOLE
CASE_NUMBER_PATTERN = r"^[0-9A-Za-z_\-]+" + WHOLE
TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
"""Multi-line text: no C0 or C1 control character (nor DEL) except tab and newline; they break
spreadsheets (XLSX refuses them) and hide text from the people who read it."""
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+" + WHOLE
"""One line: no control character at all, not even tab or newline."""

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=CODE_PATTERN)]
"""Machine code for units, officials, batches and references: ASCII, no spaces."""

CaseNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=CASE_NUMBER_PATTERN)]
Text = Annotated[str, msgspec.Meta(max_length=2000, pattern=TEXT_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NAME_PATTERN)]

STRICT: dict[object, object] = {LoggedCode: Code, LoggedCaseNumber: CaseNumber, LoggedText: Text, LoggedName: Name}
"""The input type for each logged one."""

Days = Annotated[int, msgspec.Meta(ge=1, le=365)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Persons = Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """操作人：who did it, for which unit, in which role. Set by the server, never the client."""

    id: LoggedCode
    unit: LoggedCode
    role: Role


class SourceActor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """原系统经办人：who did a migrated step, as the older system records it (its official and unit codes).

    Kept beside the operator who imported the step (the envelope's :class:`Actor`), so a
    migration does not put every step of its history under the importer's name.
    """

    official: Code
    unit: Code
    name: Name | None = None
    """The official's name as the source system gives it, when the code is not registered here."""
