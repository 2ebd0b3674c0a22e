"""The demo county's back-dating township (补录) shows up in the accountability report, case by case."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.demo import BACKDATING_UNIT, MIGRATED_UNIT, MIGRATION_BATCH, build_demo
from support.projections import cli


def test_the_back_dating_township_is_listed_with_its_cases(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    build_demo(url, cases=150, seed=3, progress=lambda items, total: items)
    args = ("report", "accountability", "--period", "2021", "--as-of", "2022-01-10")
    report = json.loads(cli(url, *args, "--format", "json").output)
    units = {u["unit"]: u for u in report["units"]}

    late = units[BACKDATING_UNIT]["backfill"]
    assert late["numerator"] >= 5 and late["numerator"] / late["denominator"] > 0.5
    entries = units[BACKDATING_UNIT]["backfill_entries"]
    assert all(e["hours"] > 72 and e["unit"] == BACKDATING_UNIT for e in entries)
    assert sorted({e["key"] for e in entries}) == late["cases"]
    others = [u for code, u in units.items() if code != BACKDATING_UNIT and u["backfill"]["denominator"] > 20]
    assert others and all(u["backfill"]["value"] < 0.2 for u in others)
    # 白沙乡 sends its late entries in daily import batches: an import is an ordinary entry
    assert all(e["type"] != "MigrationDeclared" for e in entries)
    # 人社局's January, migrated under the administrator's declaration, is history, not back-dating
    assert units.get(MIGRATED_UNIT, {"backfill": {"numerator": 0}})["backfill"]["numerator"] == 0
    [migration] = report["migrations"]
    assert (migration["migration"], migration["declared_by"]) == (MIGRATION_BATCH, "county-admin")
    assert migration["imported"] == migration["expected"] > 0

    printed = cli(url, *args).output
    name = units[BACKDATING_UNIT]["name"]
    assert f"{name}（{BACKDATING_UNIT}）" in printed and "补录明细" in printed
    assert all(case in printed for case in late["cases"][:5])
