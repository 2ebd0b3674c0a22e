"""The command line asks the same policy as the API: a token's actor or an explicit local operator, and
nothing it may not see or do — with the real `xinfang` process on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import jsonl, run, size, token

AT = "2021-03-01T09:30:00+08:00"
A_CASE = {"type": "RegisterPetition", "command_id": "a-1", "occurred_at": AT, "number": "A-1", "channel": "来访",
          "subject": "土地征收补偿", "home_township": "town-a", "petitioners": ["P-A"]}
A_FORWARD = {"type": "ForwardCase", "command_id": "a-2", "occurred_at": "2021-03-02T10:00:00+08:00", "case": "A-1",
             "to_unit": "town-a"}
ACCUSATION = {"type": "RegisterPetition", "command_id": "j-1", "occurred_at": AT, "number": "J-1", "channel": "来信",
              "subject": "检举乡镇干部", "home_township": "town-a", "petitioners": ["P-J"], "flags": ["检举"],
              "accused": ["town-a", "head-a"]}
ACCEPT = {"type": "AcceptCase", "command_id": "acc-1", "occurred_at": "2021-03-03T09:00:00+08:00", "case": "A-1"}


@pytest.fixture
def cases(county: str, tmp_path: Path) -> str:
    clerk = token(county, tmp_path, "clerk", "xfj", "clerk-1")
    run(county, "apply", str(jsonl(tmp_path / "cases.jsonl", A_CASE, A_FORWARD, ACCUSATION)), cwd=tmp_path,
        who=("--token", clerk))
    identity = tmp_path / "identity.json"
    identity.write_text(json.dumps({"name": "检举人甲"}, ensure_ascii=False), encoding="utf-8")
    run(county, "petitioner", "put", "P-J", str(identity), cwd=tmp_path, who=("--token", clerk))
    return county


def test_without_a_token_or_an_operator_nothing_is_read_or_written(cases: str, tmp_path: Path) -> None:
    before = size(cases, tmp_path)
    for args in (("apply", str(jsonl(tmp_path / "a.jsonl", ACCEPT))), ("case", "show", "A-1"),
                 ("report", "board"), ("export",)):
        done = run(cases, *args, cwd=tmp_path, check=False, who=())
        assert done.returncode == 2 and "请说明由谁操作" in done.stderr, args
        assert "A-1" not in done.stdout
    assert size(cases, tmp_path) == before


def test_a_revoked_token_is_refused(cases: str, tmp_path: Path) -> None:
    handler = token(cases, tmp_path, "handler", "town-a", "handler-a")
    listed = json.loads(run(cases, "--json", "token", "list", cwd=tmp_path).stdout)
    run(cases, "token", "revoke", next(t["id"] for t in listed if t["actor"]["id"] == "handler-a"), cwd=tmp_path)
    before = size(cases, tmp_path)
    done = run(cases, "apply", str(jsonl(tmp_path / "a.jsonl", ACCEPT)), cwd=tmp_path, check=False,
               who=("--token", handler))
    assert done.returncode == 2 and "令牌无效" in done.stderr
    assert size(cases, tmp_path) == before


def test_an_inspector_token_writes_nothing_and_each_line_says_why(cases: str, tmp_path: Path) -> None:
    inspector = token(cases, tmp_path, "inspector", "county", "inspector-1")
    before = size(cases, tmp_path)
    done = run(cases, "--json", "apply", str(jsonl(tmp_path / "a.jsonl", ACCEPT)), cwd=tmp_path, check=False,
               who=("--token", inspector))
    assert done.returncode == 3
    assert [r["code"] for r in json.loads(done.stdout)["refused"]] == ["forbidden"]
    assert size(cases, tmp_path) == before


def test_a_unit_cannot_write_into_another_unit_s_case(cases: str, tmp_path: Path) -> None:
    other = token(cases, tmp_path, "handler", "town-b", "handler-b")
    before = size(cases, tmp_path)
    done = run(cases, "--json", "apply", str(jsonl(tmp_path / "a.jsonl", ACCEPT)), cwd=tmp_path, check=False,
               who=("--token", other))
    refused = json.loads(done.stdout)["refused"]
    assert done.returncode == 3 and refused[0]["code"] == "unknown_case" and "A-1 不存在" in refused[0]["message"]
    assert size(cases, tmp_path) == before


def test_the_accused_unit_cannot_find_the_accusation_or_the_whistle_blower(cases: str, tmp_path: Path) -> None:
    accused = token(cases, tmp_path, "handler", "town-a", "handler-a")
    hidden = run(cases, "case", "show", "J-1", cwd=tmp_path, check=False, who=("--token", accused))
    missing = run(cases, "case", "show", "Z-9", cwd=tmp_path, check=False, who=("--token", accused))
    assert hidden.returncode == missing.returncode == 4
    assert hidden.stderr.replace("J-1", "N") == missing.stderr.replace("Z-9", "N")
    before = size(cases, tmp_path)
    identity = run(cases, "petitioner", "show", "P-J", "--purpose", "核实", cwd=tmp_path, check=False,
                   who=("--token", accused))
    assert identity.returncode == 4 and "检举人甲" not in identity.stdout
    board = run(cases, "--json", "report", "board", cwd=tmp_path, who=("--token", accused)).stdout
    assert "J-1" not in board and "A-1" in board
    assert size(cases, tmp_path) == before


def test_the_local_operator_is_recorded_as_such(cases: str, tmp_path: Path) -> None:
    run(cases, "apply", str(jsonl(tmp_path / "a.jsonl", ACCEPT)), cwd=tmp_path)
    timeline = json.loads(run(cases, "--json", "case", "show", "A-1", cwd=tmp_path).stdout)["timeline"]
    assert timeline[-1]["actor"]["id"] == "ops-1" and timeline[-1]["actor"]["role"] == "operator"


def test_only_the_operator_and_inspectors_export_the_whole_log(cases: str, tmp_path: Path) -> None:
    handler = token(cases, tmp_path, "handler", "town-b", "handler-b")
    done = run(cases, "export", cwd=tmp_path, check=False, who=("--token", handler))
    assert done.returncode == 7 and done.stdout == ""
    inspector = token(cases, tmp_path, "inspector", "county", "inspector-1")
    assert "J-1" in run(cases, "export", cwd=tmp_path, who=("--token", inspector)).stdout
