"""A small county and sample commands, so tests read as a story rather than as JSON."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from ledger.domain.case import CHINA
from schemas.commands import COMMAND_SPECS, COMMANDS_BY_NAME, Command
from schemas.common import Actor

START = datetime(2021, 3, 1, 9, 0, tzinfo=CHINA)
CLERK = Actor(id="clerk-1", unit="xfj", role="clerk")
HANDLER = Actor(id="handler-a", unit="town-a", role="handler")
ADMIN = Actor(id="admin-1", unit="county", role="admin")

UNITS = [
    {"code": "county", "name": "示范县", "kind": "县"},
    {"code": "xfj", "name": "示范县信访局", "kind": "部门", "parent": "county"},
    {"code": "town-a", "name": "甲镇", "kind": "乡镇", "parent": "county", "township_class": "一类"},
    {"code": "town-b", "name": "乙乡", "kind": "乡镇", "parent": "county", "township_class": "二类"},
    {"code": "village-a1", "name": "甲镇一村", "kind": "村社区", "parent": "town-a"},
    {"code": "dept-land", "name": "县自然资源局", "kind": "部门", "parent": "county"},
]
OFFICIALS = [
    {"code": "leader-1", "name": "包案领导甲", "unit": "county", "title": "副县长"},
    {"code": "head-a", "name": "镇长甲", "unit": "town-a", "title": "镇长"},
]

_ids = itertools.count(1)

FIELD_VALUES: dict[str, Any] = {
    "channel": "来访",
    "subject": "土地征收补偿",
    "home_township": "town-a",
    "petitioners": ["P-0001"],
    "to_unit": "town-a",
    "report_due": date(2021, 4, 30),
    "reason": "依法处理",
    "route": "行政复议",
    "authority": "纪检监察",
    "days": 15,
    "approved_by": "head-a",
    "petitioner_notified": True,
    "outcome": "支持",
    "party": "信访部门",
    "rating": "满意",
    "reached": True,
    "order": "DB-1",
    "reply_due": date(2021, 6, 30),
    "leader": "leader-1",
    "corrects_version": 1,
    "ruling": "异议不成立",
    "note": "",
}
PER_COMMAND: dict[str, dict[str, Any]] = {
    "RegisterUnit": {"code": "town-c", "name": "丙镇", "kind": "乡镇"},
    "RegisterOfficial": OFFICIALS[0],
    "RecordSettlement": {"kind": "调解"},
    "RecordInvestigation": {"note": "走访核实"},
    "RefuseAcceptance": {"reason": "不属于信访事项"},
    "IssueRecommendation": {"letter": "L-1", "kind": "改进工作建议函"},
    "AnswerRecommendation": {"letter": "L-1"},
    "DecideAccountability": {"decision": "WZ-1", "measure": "约谈", "unit": "town-a", "grounds": "拖延办理"},
    "HoldLeaderReception": {"session": "JF-1", "unit": "county", "batches": 3, "persons": 9},
    "ListBacklogBatch": {"batch": "B-1", "name": "中央交办第一批", "cases": []},
    "ResolveBacklogCase": {"batch": "B-1", "case": "2021-000001"},
    "RecordDispute": {"dispute": "D-1", "township": "town-a"},
    "MediateDispute": {"dispute": "D-1"},
    "ResolveDispute": {"dispute": "D-1"},
    "RecordIncident": {"incident": "I-1", "kind": "越级", "level": "市", "persons": 2, "township": "town-a"},
    "EraseIdentity": {"ref": "P-0001", "reason": "依法删除"},
    "RecordIdentityRead": {"read": "R-1", "ref": "P-0001"},
    "RecordIdentity": {"ref": "P-0001", "digest": "0" * 64, "holder": "xfj"},
    "CorrectEvent": {"reason": "登记有误"},
    "AnswerSupervision": {"order": "DB-1"},
    "DeclareMigration": {"migration": "M-1", "source": "旧信访系统", "cutoff": datetime(2021, 2, 1, tzinfo=CHINA),
                         "expected": 10},
}


def command(name: str, at: datetime = START, /, **fields: Any) -> Command:
    """A valid command ``name`` with sample values for its required fields."""
    cls = COMMANDS_BY_NAME[name]
    values: dict[str, Any] = {"command_id": f"cmd-{next(_ids)}", "occurred_at": at}
    for field in msgspec.structs.fields(cls):
        if field.name in values or field.name in fields:
            continue
        if field.name in PER_COMMAND.get(name, {}):
            values[field.name] = PER_COMMAND[name][field.name]
        elif field.required and field.name in FIELD_VALUES:
            values[field.name] = FIELD_VALUES[field.name]
    values.update(fields)
    return cls(**values)


def county_setup(at: datetime = START - timedelta(days=30)) -> list[Command]:
    return [command("RegisterUnit", at, **u) for u in UNITS] + [command("RegisterOfficial", at, **o) for o in OFFICIALS]


STAGE_PATHS: dict[str, list[str]] = {
    "已登记": [],
    "待受理": ["ForwardCase"],
    "管辖异议中": ["ForwardCase", "ObjectToJurisdiction"],
    "已告知": ["RedirectPetitioner"],
    "已导入法定途径": ["RouteToStatutoryChannel"],
    "已转交": ["ReferCase"],
    "不予受理": ["ForwardCase", "RefuseAcceptance"],
    "办理中": ["ForwardCase", "AcceptCase"],
    "已出具意见": ["ForwardCase", "AcceptCase", "IssueDecision"],
    "已送达": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision"],
    "复查中": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "RequestReview"],
    "已复查": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "RequestReview", "DecideReview"],
    "复核中": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "RequestReview", "DecideReview",
             "RequestReReview"],
    "已复核": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "RequestReview", "DecideReview",
             "RequestReReview", "DecideReReview"],
    "已办结": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "ConcludeCase"],
    "已认定办结": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "ConcludeCase", "CertifyConclusion"],
    "已归档": ["ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision", "ConcludeCase", "ArchiveCase"],
}
"""Commands (after registration) that bring a case to each stage, one day apart."""


def case_path(number: str, stage: str, start: datetime = START) -> list[Command]:
    steps = [command("RegisterPetition", start, number=number)]
    for day, name in enumerate(STAGE_PATHS[stage], start=1):
        steps.append(command(name, start + timedelta(days=day), case=number))
    return steps


CASE_COMMANDS = [spec.name for spec in COMMAND_SPECS if spec.event.aggregate == "case" and spec.event.key_field is None]
