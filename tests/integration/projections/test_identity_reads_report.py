"""身份信息查阅 in the accountability report: who read whose identity, for which case and purpose."""

from __future__ import annotations

import json
from datetime import timedelta

from support.county import CLERK, HANDLER, START, command
from support.projections import County, cli


def test_the_accountability_report_lists_identity_reads_per_unit_and_official(county: County) -> None:
    county.now = START + timedelta(days=400)
    county.run([
        command("RegisterPetition", START, number="2021-000001", petitioners=["P-0001"]),
        command("RegisterPetition", START, number="2021-000002", petitioners=["P-0002"], flags=["检举"],
                accused=["town-a"], subject="检举镇干部"),
        command("RecordIdentityRead", START + timedelta(days=1), read="R-1", ref="P-0001", case="2021-000001",
                purpose="核实身份"),
        command("RecordIdentityRead", START + timedelta(days=2), read="R-3", ref="P-0002", case="2021-000002",
                purpose="联系检举人"),
    ], CLERK)
    county.run([command("RecordIdentityRead", START + timedelta(days=3), read="R-2", ref="P-0001",
                        case="2021-000001", purpose="上门回访")], HANDLER)

    result = cli(county.url, "report", "accountability", "--period", "2021", "--format", "json")
    report = json.loads(result.output)
    units = {u["unit"]: u for u in report["units"]}
    assert [(r["read"], r["ref"], r["case"], r["purpose"], r["official"], r["day"])
            for r in units["xfj"]["identity_reads"]] == [
        ("R-1", "P-0001", "2021-000001", "核实身份", "clerk-1", "2021-03-02"),
        ("R-3", "P-0002", "2021-000002", "联系检举人", "clerk-1", "2021-03-03"),
    ]
    officials = {o["official"]: o for o in report["officials"]}
    assert [r["read"] for r in officials["handler-a"]["identity_reads"]] == ["R-2"]
    assert officials["handler-a"]["unit"] == "town-a"

    # A unit's own report lists its own officials' reads.
    own = json.loads(cli(county.url, "report", "accountability", "--period", "2021", "--unit", "town-a",
                         "--format", "json").output)
    assert [r["read"] for u in own["units"] for r in u["identity_reads"]] == ["R-2"]

    printed = cli(county.url, "report", "accountability", "--period", "2021").output
    assert "身份信息查阅" in printed and "联系检举人" in printed
