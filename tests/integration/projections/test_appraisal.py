"""Signed appraisals: written, re-derived later, and what the check says when something changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from ledger.config import is_postgres
from ledger.integrity.checkpoints import Checkpoints
from ledger.integrity.keys import KEY_VARIABLE, create_key
from support.county import CLERK, HANDLER, START, case_path, command
from support.projections import County, cli

AS_OF = "2021-06-30"


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.key"
    create_key(path)
    monkeypatch.setenv(KEY_VARIABLE, str(path))
    return path


def first_half(county: County) -> None:
    for i in range(1, 7):
        county.now = START + timedelta(days=i + 10)
        county.run(case_path(f"2021-{i:06d}", "已办结", START + timedelta(days=i)), HANDLER)
        county.run([command("RateSatisfaction", START + timedelta(days=i + 6), case=f"2021-{i:06d}",
                            party="责任单位", rating="满意" if i % 3 else "不满意")], CLERK)
    county.run([command("RecordDispute", START, dispute="D-1"), command("ResolveDispute", START + timedelta(days=3))],
               CLERK)


def appraise(county: County, out: Path) -> dict[str, object]:
    result = cli(county.url, "appraise", "--period", "2021", "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    return json.loads(out.read_bytes())


def test_an_appraisal_still_checks_after_more_and_back_dated_events(county: County, key: Path, tmp_path: Path) -> None:
    first_half(county)
    appraisal = appraise(county, tmp_path / "2021.json")
    basis = appraisal["body"]["basis"]
    assert basis["tree_size"] == county.size() and basis["as_of"].startswith("2021-06-30T23:59:59")
    # signed with the ledger's key, under the name its checkpoints carry: inspectors hold this verifier key already
    assert appraisal["signature"]["key"] == Checkpoints(county.ledger.recorder, county.url).verifier_key()

    county.now = START + timedelta(days=200)  # after as_of: a late year, with entries back-dated into the period
    county.run(case_path("2021-000050", "已办结", START + timedelta(days=40)), HANDLER)
    county.run([command("RateSatisfaction", START + timedelta(days=50), case="2021-000001", party="信访部门",
                        rating="不满意")], CLERK)

    result = cli(county.url, "appraise", "--check", str(tmp_path / "2021.json"))
    assert result.exit_code == 0, result.output
    assert "已复现" in result.output and "as-of 之后记录的 7 条事件不计入" in result.output
    assert "仍是今天日志" in result.output

    checked = json.loads(cli(county.url, "--json", "appraise", "--check", str(tmp_path / "2021.json")).output)
    assert checked["reproduced"] and checked["consistent"] and checked["consistency_proof"]
    assert checked["key_matches_ledger"] is True and checked["recorded_after"] == 7


def tamper(county: County, event_type: str, old: bytes, new: bytes) -> int:
    """Replace ``old`` by ``new`` in the first stored ``event_type`` holding it, behind the ledger's back."""
    url, events = county.url, county.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    select = (f"SELECT l.seq, e.originator_id, e.originator_version, e.state FROM ledger_leaves l JOIN {events} e "
              "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
              "WHERE e.topic = {p} ORDER BY l.seq")
    update = f"UPDATE {events} SET state = {{p}} WHERE originator_id = {{p}} AND originator_version = {{p}}"
    if is_postgres(url):
        with psycopg.connect(url, autocommit=True) as db:
            rows = db.execute(select.format(p="%s"), (event_type,)).fetchall()
            seq, oid, version, state = next(r for r in rows if old in bytes(r[3]))
            db.execute(update.format(p="%s"), (bytes(state).replace(old, new), oid, version))
    else:
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///"):]) as db:
            rows = db.execute(select.format(p="?"), (event_type,)).fetchall()
            seq, oid, version, state = next(r for r in rows if old in r[3])
            db.execute(update.format(p="?"), (state.replace(old, new), oid, version))
    return int(seq)


def test_a_tampered_event_fails_the_check_and_is_named(county: County, key: Path, tmp_path: Path) -> None:
    first_half(county)
    appraise(county, tmp_path / "2021.json")
    seq = tamper(county, "SatisfactionRated", "不满意".encode(), "满意".encode())

    result = cli(county.url, "appraise", "--check", str(tmp_path / "2021.json"))
    assert result.exit_code == 1
    assert "未能复现" in result.output
    assert f"序号 {seq}（案件 2021-000003，SatisfactionRated）" in result.output
    checked = json.loads(cli(county.url, "--json", "appraise", "--check", str(tmp_path / "2021.json")).output)
    assert [d["seq"] for d in checked["damage"]] == [seq]
    assert checked["prefix_root_matches"] and checked["consistent"]  # the leaves are intact: only the event changed
    paths = {d["path"]: d for d in checked["differences"]}
    unsatisfied = paths["accountability.units[unit=town-a].unsatisfied.numerator"]
    assert (unsatisfied["recorded"], unsatisfied["derived"]) == (2, 1)


def test_another_rule_set_is_named(county: County, key: Path, tmp_path: Path) -> None:
    first_half(county)
    appraise(county, tmp_path / "2021.json")
    rules = tmp_path / "rules.toml"
    rules.write_text('blocked = ["zhijiang"]\n', encoding="utf-8")
    result = cli(county.url, "--rules", str(rules), "appraise", "--check", str(tmp_path / "2021.json"))
    assert result.exit_code == 1
    assert "规则集不同" in result.output and "插件 zhijiang 已停用" in result.output
    assert "basis.rules_fingerprint" in result.output


def test_an_edited_appraisal_file_has_a_broken_signature(county: County, key: Path, tmp_path: Path) -> None:
    first_half(county)
    appraisal = appraise(county, tmp_path / "2021.json")
    appraisal["body"]["indicators"]["total"]["disputes"]["numerator"] = 0  # type: ignore[index]
    (tmp_path / "edited.json").write_text(json.dumps(appraisal, ensure_ascii=False), encoding="utf-8")
    result = cli(county.url, "appraise", "--check", str(tmp_path / "edited.json"))
    assert result.exit_code == 1 and "签名无效" in result.output
    assert "indicators.total.disputes.numerator" in result.output


def test_an_as_of_in_the_future_is_refused(county: County, key: Path, tmp_path: Path) -> None:
    result = cli(county.url, "appraise", "--period", "2021", "--as-of", "2999-01-01", "--out", str(tmp_path / "x.json"))
    assert result.exit_code == 2 and "晚于当前时间" in result.output
    assert not (tmp_path / "x.json").exists()


def test_two_processes_write_the_same_bytes(county: County, key: Path, tmp_path: Path) -> None:
    """Nothing in an appraisal depends on the process: hash order, clock, or where it ran."""
    first_half(county)
    files = []
    for seed in ("1", "2"):
        out = tmp_path / f"run-{seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "ledger.cli", "--db", county.url, "--operator", "ops-1", "appraise", "--period", "2021",
                        "--as-of", AS_OF, "--out", str(out)], check=True, env=env, capture_output=True)
        files.append(out.read_bytes())
    assert files[0] == files[1]
