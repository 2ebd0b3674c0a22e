"""A case's history as a person reads it: what each event says, to which unit, who rated whom and how."""

from __future__ import annotations

import json
from datetime import timedelta

from ledger.application import Ledger
from schemas.common import Actor
from support.county import CLERK, HANDLER, START, command
from support.projections import cli

TOWN_B = Actor(id="handler-b", unit="town-b", role="handler")


def test_the_timeline_says_what_each_event_says_with_names(ledger: Ledger, database_url: str) -> None:
    day = timedelta(days=1)
    ledger.execute(command("RegisterPetition", START, number="T-1", subject="宅基地纠纷", persons=2), CLERK)
    ledger.execute(command("ForwardCase", START + day, case="T-1", to_unit="town-a"), CLERK)
    ledger.execute(command("ObjectToJurisdiction", START + 2 * day, case="T-1", reason="属乙乡辖区"), HANDLER)
    ledger.execute(command("ResolveJurisdictionObjection", START + 3 * day, case="T-1", ruling="异议成立",
                           to_unit="town-b"), CLERK)
    for offset, name, extra in ((4, "AcceptCase", {}), (10, "IssueDecision", {"outcome": "不支持", "note": "证据不足"}),
                                (11, "ServeDecision", {})):
        ledger.execute(command(name, START + offset * day, case="T-1", **extra), TOWN_B)
    ledger.execute(command("RateSatisfaction", START + 12 * day, case="T-1", party="信访部门", rating="满意"), CLERK)
    ledger.execute(command("RateSatisfaction", START + 12 * day, case="T-1", party="责任单位", rating="不满意"), CLERK)
    ledger.execute(command("AssignLeader", START + 13 * day, case="T-1", leader="leader-1"), CLERK)

    texts = [entry.text for entry in ledger.timeline("T-1")]
    assert texts == [
        "示范县信访局登记来访信访事项 T-1「宅基地纠纷」（属地甲镇，2人）",
        "示范县信访局将本件转送甲镇办理",
        "甲镇提出管辖异议，认为不属本单位职权：属乙乡辖区",
        "示范县信访局认定管辖异议成立，改由乙乡办理（其受理期限自今日起算）",
        "乙乡受理本件并书面告知信访人",
        "乙乡出具处理意见：不支持（证据不足）",
        "乙乡以直接送达送达处理意见，信访人签收",
        "信访人评价信访部门（示范县信访局）：满意",
        "信访人评价责任单位（乙乡）：不满意",
        "包案领导甲包案化解本件",
    ]

    shown = cli(database_url, "case", "show", "T-1")
    assert shown.exit_code == 0, shown.output
    assert "信访人评价责任单位（乙乡）：不满意" in shown.output
    assert "乙乡" in shown.output.split("\n")[0]  # the responsible unit by name
    data = json.loads(cli(database_url, "--json", "case", "show", "T-1").output)
    assert data["timeline"][1]["text"] == "示范县信访局将本件转送甲镇办理"
