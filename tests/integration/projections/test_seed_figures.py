"""The seed reports' own figures, rebuilt as ledgers through commands and read back from the reports.

Each test builds the county a seed report describes, as commands, and checks that
``xinfang report indicators`` prints the report's figures with their numerators and
denominators. Where a seed rounds (95.1% for 214 of 225), the report shows two decimals
(95.11%) and the seed's rounding of it is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

from schemas.commands import Command
from support.county import CLERK, HANDLER, START, command
from support.projections import County, cli

HANDLING = ("ForwardCase", "AcceptCase", "IssueDecision", "ServeDecision")


def handled_case(number: str, day: int, steps: tuple[str, ...] = HANDLING) -> Iterator[Command]:
    """A case registered on ``day`` (days after 2021-03-01) and taken through ``steps``, a day apart."""
    at = START + timedelta(days=day)
    yield command("RegisterPetition", at, number=number)
    for offset, name in enumerate(steps, start=1):
        yield command(name, at + timedelta(days=offset), case=number)


def rating(number: str, day: int, party: str, value: str | None) -> Command:
    at = START + timedelta(days=day + 10)
    if value is None:
        return command("ExpireRating", at, case=number, party=party)
    return command("RateSatisfaction", at, case=number, party=party, rating=value)


def disputes(found: int, mediated: int, resolved: int) -> Iterator[Command]:
    for i in range(found):
        at = START + timedelta(days=i % 90)
        yield command("RecordDispute", at, dispute=f"D-{i}", township="town-a")
        if i < mediated:
            yield command("MediateDispute", at + timedelta(days=1), dispute=f"D-{i}")
        if i < resolved:
            yield command("ResolveDispute", at + timedelta(days=2), dispute=f"D-{i}")


def indicators(county: County, *period: str) -> tuple[str, dict[str, object]]:
    table = cli(county.url, "report", "indicators", *period, "--as-of", "2022-12-31")
    assert table.exit_code == 0, table.output
    data = json.loads(cli(county.url, "report", "indicators", *period, "--as-of", "2022-12-31", "--format", "json").output)
    return table.output, data["total"]


def test_seed_000_participation_and_satisfaction_of_both_parties(county: County) -> None:
    """2021：信访部门和责任单位群众参评率分别为96%和92%，满意率分别为97%和95%；及时受理率、按期答复率100%."""
    county.now = START + timedelta(days=400)
    commands: list[Command] = []
    for i in range(625):
        number, day = f"2021-{i + 1:06d}", i % 200
        commands += handled_case(number, day)
        commands.append(rating(number, day, "信访部门", None if i >= 600 else "不满意" if i >= 582 else
                               "基本满意" if i % 7 == 0 else "满意"))
        if i < 500:
            commands.append(rating(number, day, "责任单位", None if i >= 460 else "不满意" if i >= 437 else "满意"))
    county.run(commands, CLERK)

    printed, total = indicators(county, "--period", "2021")
    assert "96%（600/625）" in printed and "92%（460/500）" in printed
    assert "97%（582/600）" in printed and "95%（437/460）" in printed
    assert "100%（625/625）" in printed  # 及时受理率, 按期办结（答复）率
    assert total["timely_acceptance"]["rate"]["value"] == total["on_time_conclusion"]["rate"]["value"] == 1.0


def test_seed_001_mediation_and_conclusion_in_the_first_half(county: County) -> None:
    """琴江镇 2021 上半年：调解矛盾纠纷403件，化解率95.53%；受理信访件148件，办结率91.2%."""
    county.now = START + timedelta(days=400)
    commands = list(disputes(403, 403, 385))
    for i in range(148):
        steps = ("ForwardCase", "AcceptCase", *(("IssueDecision", "ServeDecision", "ConcludeCase") if i < 135 else ()))
        commands += handled_case(f"2021-{i + 1:06d}", i % 100, steps)
    county.run(commands, HANDLER)

    printed, total = indicators(county, "--from", "2021-01-01", "--to", "2021-06-30")
    assert "95.53%（385/403）" in printed  # 调处化解率
    assert "91.22%（135/148）" in printed  # 办结率
    assert round(total["conclusion"]["value"] * 100, 1) == 91.2  # type: ignore[index]
    assert total["disputes_mediated"]["cases"][:2] == ["D-0", "D-1"]  # type: ignore[index]


def test_seed_002_disputes_follow_ups_and_receptions(county: County) -> None:
    """芷江 2021：排查矛盾225件，调处214起，化解率95.1%；回访159件，成功131件；县级领导接访385批次1360人次."""
    county.now = START + timedelta(days=400)
    commands = list(disputes(225, 214, 214))
    for i in range(159):
        number = f"2021-{i + 1:06d}"
        commands += handled_case(number, i % 150, (*HANDLING, "ConcludeCase"))
        commands.append(command("RecordFollowUp", START + timedelta(days=i % 150 + 20), case=number,
                                reached=i < 131, satisfaction_verified=True if i < 131 else None))
    commands.append(command("HoldLeaderReception", START + timedelta(days=100), session="JF-2021", leader="leader-1",
                            unit="county", batches=385, persons=1360, answered_on_spot=169, referred=216))
    county.run(commands, CLERK)

    printed, total = indicators(county, "--period", "2021")
    assert "95.11%（214/225）" in printed
    assert round(total["disputes"]["value"] * 100, 1) == 95.1  # type: ignore[index]
    assert "82.39%（131/159）" in printed
    receptions = total["receptions"]
    assert (receptions["batches"], receptions["persons"], receptions["answered_on_spot"], receptions["referred"]) == (  # type: ignore[index]
        385, 1360, 169, 216)
    assert "│ 合计" in printed and "385" in printed and "1360" in printed


def test_seed_000_reception_items_resolved_of_those_past_their_time_limit(county: County) -> None:
    """甘州 2021：区四班子领导接待信访群众11批65人次，接访事项已办结10件次，1件责任单位正在按期办理中，化解率达100%."""
    county.now = START + timedelta(days=400)
    commands: list[Command] = [command("HoldLeaderReception", START, session="JF-2021", leader="leader-1",
                                       unit="county", batches=11, persons=65)]
    for i in range(10):
        number = f"2021-{i + 1:06d}"
        commands.append(command("RegisterPetition", START + timedelta(days=i), number=number, reception="JF-2021"))
        commands += [command(name, START + timedelta(days=i + offset), case=number)
                     for offset, name in enumerate((*HANDLING, "ConcludeCase"), start=1)]
    open_item = START.replace(month=12, day=8)  # accepted 12-10: its decision is due in February
    commands.append(command("RegisterPetition", open_item, number="2021-000011", reception="JF-2021"))
    commands += [command(name, open_item + timedelta(days=offset), case="2021-000011")
                 for offset, name in enumerate(("ForwardCase", "AcceptCase"), start=1)]
    county.run(commands, CLERK)

    printed, total = indicators(county, "--period", "2021")
    assert "接访化解率" in printed and "接访按期办理中（件）" in printed
    assert total["reception_resolution"]["numerator"] == 10 and total["reception_resolution"]["denominator"] == 10  # type: ignore[index]
    assert total["reception_open_in_time"] == {"count": 1, "cases": ["2021-000011"]}
    receptions = total["receptions"]
    assert (receptions["batches"], receptions["persons"]) == (11, 65)  # type: ignore[index]
