"""Back-dating cannot hide in an import: only a declared migration's history, before its cut-off, is not 补录."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from ledger.bootstrap import Services
from ledger.domain.case import CHINA
from ledger.tokens import TokenStore
from schemas.common import Actor
from support.county import ADMIN, CLERK, HANDLER, START, command
from support.projections import County, cli

CUTOFF = datetime(2021, 2, 1, tzinfo=CHINA)
OLD_HAND = {"official": "old-07", "unit": "dept-land", "name": "原系统经办人七"}


def jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"\n".join(msgspec.json.encode(line) for line in lines) + b"\n")
    return path


def token_of(county: County, actor: Actor) -> str:
    with TokenStore(county.url) as store:
        return store.create(actor)


def accountability(county: County, *args: str) -> dict[str, Any]:
    result = cli(county.url, "report", "accountability", "--period", "2021", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_a_late_entry_sent_through_an_import_is_flagged_as_back_dated(county: County, tmp_path: Path) -> None:
    """The same late acceptance through `POST /api/cases` is flagged; through an import it used to vanish."""
    county.now = START + timedelta(days=60)
    county.run([command("RegisterPetition", START, number="2021-000001"),
                command("ForwardCase", START + timedelta(days=1), case="2021-000001", to_unit="town-a")], CLERK)
    county.run([command("AcceptCase", START + timedelta(days=3), case="2021-000001")], HANDLER, batch="import-town-a")
    late = jsonl(tmp_path / "late.jsonl", [
        {"type": "RecordInvestigation", "command_id": "imp-2", "occurred_at": (START + timedelta(days=5)).isoformat(),
         "case": "2021-000001", "note": "走访核实"}])
    applied = cli(county.url, "--token", token_of(county, HANDLER), "apply", str(late))
    assert applied.exit_code == 0, applied.output

    report = accountability(county)
    [town_a] = [u for u in report["units"] if u["unit"] == "town-a"]
    assert [(e["type"], e["key"]) for e in town_a["backfill_entries"]] == [
        ("CaseAccepted", "2021-000001"), ("InvestigationRecorded", "2021-000001")]
    assert town_a["backfill"]["numerator"] == 2 and report["migrations"] == []


def test_a_declared_migration_keeps_its_history_and_the_source_systems_actors(county: County, tmp_path: Path) -> None:
    county.now = CUTOFF + timedelta(hours=10)
    county.run([command("DeclareMigration", county.now, migration="M-1", source="人社局原信访台账系统", cutoff=CUTOFF,
                        expected=3, note="2021年1月")], ADMIN)
    day = timedelta(days=1)
    history = [
        {"type": "RegisterPetition", "command_id": "m-1", "occurred_at": datetime(2021, 1, 10, 9, tzinfo=CHINA),
         "number": "2021-000001", "channel": "来信", "subject": "拖欠工资", "home_township": "town-a",
         "original_actor": {"official": "old-01", "unit": "xfj"}},
        {"type": "ForwardCase", "command_id": "m-2", "occurred_at": datetime(2021, 1, 11, 9, tzinfo=CHINA),
         "case": "2021-000001", "to_unit": "dept-land", "original_actor": {"official": "old-01", "unit": "xfj"}},
        {"type": "AcceptCase", "command_id": "m-3", "occurred_at": datetime(2021, 1, 12, 9, tzinfo=CHINA),
         "case": "2021-000001", "original_actor": OLD_HAND},
        {"type": "IssueDecision", "command_id": "m-4", "occurred_at": CUTOFF + day, "case": "2021-000001",
         "outcome": "支持", "original_actor": OLD_HAND},  # after the cut-off: not history
    ]
    lines = jsonl(tmp_path / "history.jsonl", [msgspec.to_builtins(line) for line in history])
    before = county.size()
    as_clerk = cli(county.url, "--token", token_of(county, CLERK), "apply", str(lines), "--migration", "M-1")
    assert as_clerk.exit_code == 7 and "迁移导入仅限" in as_clerk.output and county.size() == before
    undeclared = cli(county.url, "--json", "apply", str(lines), "--migration", "M-9")
    refused = json.loads(undeclared.output)["refused"]
    assert refused[0]["code"] == "unknown_migration"  # the registration; the lines on its case then find none
    assert {r["code"] for r in refused[1:]} <= {"unknown_migration", "unknown_case"} and len(refused) == 4
    plain = cli(county.url, "--json", "apply", str(lines))  # a source actor outside a migration
    plainly = json.loads(plain.output)["refused"]
    assert plainly[0]["code"] == "rule_violation" and {r["code"] for r in plainly[1:]} <= {"rule_violation", "unknown_case"}
    assert county.size() == before

    imported = cli(county.url, "--token", token_of(county, ADMIN), "--json", "apply", str(lines), "--migration", "M-1")
    outcome = json.loads(imported.output)
    assert (outcome["applied"], outcome["migration"]) == (3, "M-1")
    assert [(r["line"], r["code"]) for r in outcome["refused"]] == [(4, "rule_violation")]
    assert "只导入 2021-02-01 00:00 之前发生的历史" in outcome["refused"][0]["message"]

    timeline = county.ledger.timeline("2021-000001")
    accepted = timeline[-1]
    assert (accepted.actor.id, accepted.migration, accepted.original_actor.official) == ("admin-1", "M-1", "old-07")  # type: ignore[union-attr]
    assert accepted.text == "县自然资源局受理本件并书面告知信访人〔历史数据迁移 M-1：原系统经办人 原系统经办人七，由admin-1导入〕"
    assert county.ledger.case("2021-000001").registered_by == "xfj"  # the source system's registering unit

    report = accountability(county)
    assert not [e for u in report["units"] for e in u["backfill_entries"]]  # history, not back-dating
    [migration] = report["migrations"]
    assert {k: migration[k] for k in ("migration", "source", "expected", "imported", "declared_by", "unit")} == {
        "migration": "M-1", "source": "人社局原信访台账系统", "expected": 3, "imported": 3, "declared_by": "admin-1",
        "unit": "county"}
    officials = {o["official"]: o for o in report["officials"]}
    assert officials["old-07"]["handled"]["cases"] == ["2021-000001"]  # who did it, not who imported it
    assert "admin-1" not in officials
    assert date.fromisoformat(migration["declared_on"]) == date(2021, 2, 1)


def test_only_an_administrator_declares_a_migration(county: County) -> None:
    county.now = CUTOFF
    before = county.size()
    services = Services(county.ledger)  # the policy every entry point asks
    outcomes = list(services.execute_many(
        [command("DeclareMigration", CUTOFF, migration="M-2", source="旧系统", cutoff=CUTOFF, expected=1)],
        Actor(id="clerk-1", unit="xfj", role="clerk"), batch="b-1"))
    assert outcomes[0].code == "forbidden" and "DeclareMigration" in outcomes[0].message  # type: ignore[union-attr]
    assert county.size() == before
