"""The `xinfang` command line as a clerk and an inspector use it: real processes, real databases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import COUNTY, jsonl, run, size, token
from support.outside import database_bytes, sql

REGISTER = {"type": "RegisterPetition", "command_id": "c-1", "occurred_at": "2021-03-01T09:30:00+08:00",
            "channel": "来访", "subject": "土地征收补偿", "home_township": "town-a", "petitioners": ["P-0001"],
            "number": "2021-000001"}
FORWARD = {"type": "ForwardCase", "command_id": "c-2", "occurred_at": "2021-03-02T10:00:00+08:00",
           "case": "2021-000001", "to_unit": "town-a"}


def test_init_makes_a_private_signing_key(county: str, tmp_path: Path) -> None:
    key = tmp_path / "ledger.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
    again = run(county, "init", cwd=tmp_path)
    assert "已存在" in again.stdout


def test_a_batch_applies_good_lines_and_reports_each_bad_one_by_line_number(county: str, tmp_path: Path) -> None:
    before = size(county, tmp_path)
    batch = jsonl(
        tmp_path / "batch.jsonl",
        REGISTER,
        {**FORWARD, "surprise": 1},  # unknown field
        {**FORWARD, "command_id": "c-3", "to_unit": 7},  # wrong type
        '{"type": "ForwardCase", "command_id": "c-4"',  # malformed JSON
        {**FORWARD, "command_id": "c-5", "case": "2021-999999"},  # unknown case
        {**FORWARD, "command_id": "c-6", "expected_version": 5},  # stale version
        FORWARD,
    )
    done = run(county, "--json", "apply", str(batch), cwd=tmp_path, check=False)
    assert done.returncode == 3
    report = json.loads(done.stdout)
    assert report["applied"] == 2
    refused = {item["line"]: item for item in report["refused"]}
    assert sorted(refused) == [2, 3, 4, 5, 6]
    assert refused[2]["code"] == "invalid_command" and "surprise" in refused[2]["message"]
    assert refused[3]["code"] == "invalid_command" and "to_unit" in refused[3]["message"]
    assert refused[4]["code"] == "malformed_json"
    assert refused[5]["code"] == "unknown_case" and "2021-999999" in refused[5]["message"]
    assert refused[6]["code"] == "stale_version" and "当前版本 1" in refused[6]["message"]
    assert size(county, tmp_path) == before + 2


def test_applying_the_same_file_twice_writes_nothing_the_second_time(county: str, tmp_path: Path) -> None:
    batch = jsonl(tmp_path / "twice.jsonl", REGISTER, FORWARD)
    run(county, "apply", str(batch), cwd=tmp_path)
    before = size(county, tmp_path)
    again = json.loads(run(county, "--json", "apply", str(batch), cwd=tmp_path).stdout)
    assert (again["applied"], again["repeated"]) == (0, 2)
    assert size(county, tmp_path) == before


def test_imported_events_carry_their_batch_and_the_timeline_shows_who_and_when(county: str, tmp_path: Path) -> None:
    run(county, "apply", "--batch", "migration-1", str(jsonl(tmp_path / "m.jsonl", REGISTER, FORWARD)), cwd=tmp_path,
        who=("--token", token(county, tmp_path, "clerk", "xfj", "clerk-9")))
    shown = json.loads(run(county, "--json", "case", "show", "2021-000001", cwd=tmp_path).stdout)
    assert shown["case"]["stage"] == "待受理"
    timeline = shown["timeline"]
    assert [t["type"] for t in timeline] == ["PetitionRegistered", "CaseForwarded"]
    assert all(t["batch"] == "migration-1" and t["actor"] == {"id": "clerk-9", "unit": "xfj", "role": "clerk"}
               for t in timeline)
    assert all(t["seq"] is not None and len(t["leaf_hash"]) == 64 for t in timeline)
    human = run(county, "case", "show", "2021-000001", cwd=tmp_path).stdout
    assert "时间线" in human and "转送" in human


def test_an_unknown_case_is_a_clear_error_with_its_exit_code(county: str, tmp_path: Path) -> None:
    done = run(county, "case", "show", "2021-404404", cwd=tmp_path, check=False)
    assert done.returncode == 4
    assert "案件 2021-404404 不存在" in done.stderr


def test_export_writes_every_event_with_its_seq(county: str, tmp_path: Path) -> None:
    exported = run(county, "export", cwd=tmp_path).stdout.splitlines()
    rows = [json.loads(line) for line in exported]
    assert [r["seq"] for r in rows] == list(range(len(COUNTY)))
    assert rows[0]["event"]["type"] == "UnitRegistered"


@pytest.mark.parametrize("which", ["events", "commands"])
def test_the_schemas_are_printed_for_outside_tools(tmp_path: Path, which: str) -> None:
    schema = json.loads(run(f"sqlite:///{tmp_path}/s.sqlite3", "schema", which, cwd=tmp_path).stdout)
    names = set(schema["$defs"])
    assert ("PetitionRegistered" if which == "events" else "RegisterPetition") in names


def test_an_erased_identity_reads_as_erased_and_the_ledger_still_replays(county: str, tmp_path: Path) -> None:
    identity = tmp_path / "identity.json"
    identity.write_text(json.dumps({"name": "信访人甲", "id_number": "43122819800101123X", "phone": "13800000000"},
                                   ensure_ascii=False), encoding="utf-8")
    run(county, "apply", str(jsonl(tmp_path / "c.jsonl", REGISTER)), cwd=tmp_path)
    run(county, "petitioner", "put", "P-0001", str(identity), cwd=tmp_path)
    assert "信访人甲" in run(county, "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path).stdout
    run(county, "petitioner", "erase", "P-0001", cwd=tmp_path)
    shown = json.loads(run(county, "--json", "petitioner", "show", "P-0001", "--purpose", "核实身份",
                           cwd=tmp_path).stdout)
    assert shown == {"ref": "P-0001", "status": "erased", "identity": None, "read": None}
    kinds = [json.loads(line)["event"]["type"] for line in run(county, "export", cwd=tmp_path).stdout.splitlines()]
    assert kinds.count("PetitionerIdentityRecorded") == 1
    assert kinds.count("IdentityRead") == 1 and kinds.count("PetitionerIdentityErased") == 1
    assert json.loads(run(county, "--json", "case", "show", "2021-000001", cwd=tmp_path).stdout)["case"]["version"] == 1
    assert run(county, "verify", cwd=tmp_path).returncode == 0


def test_a_bad_identity_file_is_refused_and_nothing_is_stored(county: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "信访人乙", "id_number": "12345"}, ensure_ascii=False), encoding="utf-8")
    done = run(county, "petitioner", "put", "P-0002", str(bad), cwd=tmp_path, check=False)
    assert done.returncode == 2 and "id_number" in done.stderr
    missing = run(county, "petitioner", "show", "P-0002", "--purpose", "核实身份", cwd=tmp_path, check=False)
    assert missing.returncode == 4


@pytest.mark.parametrize("url", ["mysql://root:s3cret@db/ledger", "sqlite:///"])
def test_an_unsupported_database_url_is_a_usage_error_that_hides_the_password(tmp_path: Path, url: str) -> None:
    done = run(url, "summary", cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert "数据库地址" in done.stderr and "s3cret" not in done.stderr
    assert not list(tmp_path.glob("**/*.sqlite3"))


def test_a_windows_encoded_batch_reports_per_line_and_exits_with_the_documented_codes(county: str,
                                                                                     tmp_path: Path) -> None:
    before = size(county, tmp_path)
    mixed = tmp_path / "windows.jsonl"
    mixed.write_bytes(b"\r\n".join([
        b"\xef\xbb\xbf" + json.dumps(REGISTER, ensure_ascii=False).encode(),  # "UTF-8" as Notepad saves it
        json.dumps({**FORWARD, "command_id": "c-9", "note": "转乡镇办理"}, ensure_ascii=False).encode("gbk"),
        b'{"type":"ForwardCase","command_id":"\xff"}',
        json.dumps(FORWARD, ensure_ascii=False).encode(),
    ]))
    done = run(county, "--json", "apply", str(mixed), cwd=tmp_path, check=False)
    assert done.returncode == 3, done.stderr  # some lines refused; never 1, which means a damaged ledger
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["applied"] == 2 and [(r["line"], r["code"]) for r in report["refused"]] == [
        (2, "invalid_encoding"), (3, "invalid_encoding")]
    assert "GBK" in report["refused"][0]["message"]
    assert size(county, tmp_path) == before + 2

    utf16 = tmp_path / "unicode.jsonl"
    utf16.write_bytes(json.dumps(REGISTER, ensure_ascii=False).encode("utf-16"))
    refused = run(county, "apply", str(utf16), cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "UTF-16" in refused.stderr and "Traceback" not in refused.stderr
    empty = run(county, "apply", str(jsonl(tmp_path / "empty.jsonl")), cwd=tmp_path, check=False)
    assert empty.returncode == 2 and "导入内容为空" in empty.stderr
    assert size(county, tmp_path) == before + 2


@pytest.mark.parametrize("args", [
    pytest.param(("petitioner", "put", "P-0001", "{file}"), id="identity"),
    pytest.param(("verify", "--against", "{file}"), id="checkpoint"),
    pytest.param(("verify", "--verifier-key", "{file}"), id="verifier-key"),
])
def test_a_file_that_is_not_utf8_is_a_usage_error_not_a_traceback(county: str, tmp_path: Path,
                                                                 args: tuple[str, ...]) -> None:
    before = size(county, tmp_path)
    given = tmp_path / "gbk.txt"
    given.write_bytes('{"name":"示例"}'.encode("gbk"))
    done = run(county, *(a.format(file=given) for a in args), cwd=tmp_path, check=False)
    assert done.returncode == 2 and "UTF-8" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert size(county, tmp_path) == before


# ── the identity vault: master key, erasure, damage ──────────────────────────


@pytest.fixture
def identified(county: str, tmp_path: Path) -> str:
    """The county with case 2021-000001 and petitioner P-0001's identity in the vault."""
    identity = tmp_path / "identity.json"
    identity.write_text(json.dumps({"name": "信访人甲", "phone": "13800000000"}, ensure_ascii=False), encoding="utf-8")
    run(county, "apply", str(jsonl(tmp_path / "c.jsonl", REGISTER)), cwd=tmp_path)
    run(county, "petitioner", "put", "P-0001", str(identity), cwd=tmp_path)
    return county


def test_init_makes_a_private_master_key_and_private_database_files(county: str, tmp_path: Path) -> None:
    master = tmp_path / "ledger.vault.key"  # beside the signing key
    assert (master.stat().st_mode & 0o777) == 0o600
    again = json.loads(run(county, "--json", "init", cwd=tmp_path).stdout)
    assert (again["vault_key_file"], again["vault_key_created"], again["vault_keys_migrated"]) == \
           (str(master), False, 0)
    if county.startswith("sqlite:///"):
        database = Path(county[len("sqlite:///"):])
        assert {f.stat().st_mode & 0o777 for f in database.parent.glob(database.name + "*")} == {0o600}


def test_without_the_master_key_the_vault_refuses_and_says_how_to_get_one(identified: str, tmp_path: Path) -> None:
    master = tmp_path / "ledger.vault.key"
    kept = master.read_bytes()
    master.unlink()
    before = size(identified, tmp_path)
    done = run(identified, "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert f"找不到身份信息库主密钥 {master}" in done.stderr and "xinfang init" in done.stderr
    assert "vault_key_missing" in done.stderr
    master.write_bytes(kept)
    master.chmod(0o644)
    loose = run(identified, "--json", "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path, check=False)
    assert loose.returncode == 2 and json.loads(loose.stdout)["error"] == "vault_key_permissions"
    assert size(identified, tmp_path) == before  # no read was recorded: nothing was disclosed


def test_a_damaged_ciphertext_is_its_own_error_with_the_integrity_exit_code(identified: str, tmp_path: Path) -> None:
    [(ciphertext,)] = sql(identified, "SELECT ciphertext FROM vault_identities WHERE ref = ?", "P-0001")
    damaged = bytes(ciphertext)[:-1] + bytes([bytes(ciphertext)[-1] ^ 0x01])
    sql(identified, "UPDATE vault_identities SET ciphertext = ? WHERE ref = ?", damaged, "P-0001")
    done = run(identified, "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "信访人 P-0001 的身份信息密文校验失败" in done.stderr and "identity_damaged" in done.stderr
    answer = run(identified, "--json", "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path, check=False)
    assert answer.returncode == 1 and json.loads(answer.stdout)["error"] == "identity_damaged"


def test_an_erasure_under_a_held_snapshot_is_pending_until_no_copy_remains(tmp_path: Path) -> None:
    database = tmp_path / "ledger.sqlite3"
    db = f"sqlite:///{database}"
    run(db, "init", cwd=tmp_path)
    run(db, "apply", str(jsonl(tmp_path / "county.jsonl", *COUNTY, REGISTER)), cwd=tmp_path)
    identity = jsonl(tmp_path / "identity.json", {"name": "信访人甲"})
    run(db, "petitioner", "put", "P-0001", str(identity), cwd=tmp_path)
    [(wrapped,)] = sql(db, "SELECT wrapped FROM vault_keys WHERE ref = ?", "P-0001")
    reader = sqlite3.connect(database, isolation_level=None)  # a long report, a backup: a read snapshot
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM stored_events").fetchone()
    try:
        erased = json.loads(run(db, "--json", "petitioner", "erase", "P-0001", cwd=tmp_path).stdout)
        assert (erased["erased_now"], erased["pending"]) == (False, True)
        assert "读快照" in erased["detail"] and "--finish" in erased["detail"]
        assert wrapped in database_bytes(database)  # the claim is honest: a copy is still there
        still = json.loads(run(db, "--json", "petitioner", "erase", "--finish", cwd=tmp_path).stdout)
        assert still["pending"] is True
        human = run(db, "petitioner", "erase", "P-0001", cwd=tmp_path).stdout
        assert "此前已删除，但销毁尚未完成" in human
    finally:
        reader.execute("COMMIT")
        reader.close()
    finished = json.loads(run(db, "--json", "petitioner", "erase", "--finish", cwd=tmp_path).stdout)
    assert finished["pending"] is False and "已没有已销毁密钥" in finished["detail"]
    assert wrapped not in database_bytes(database)
    again = json.loads(run(db, "--json", "petitioner", "erase", "P-0001", cwd=tmp_path).stdout)
    assert (again["erased_now"], again["pending"]) == (False, False)
    assert json.loads(run(db, "--json", "petitioner", "show", "P-0001", "--purpose", "核实身份", cwd=tmp_path).stdout)["status"] == "erased"


def test_an_erasure_with_no_reader_is_complete_at_once(identified: str, tmp_path: Path) -> None:
    erased = json.loads(run(identified, "--json", "petitioner", "erase", "P-0001", cwd=tmp_path).stdout)
    assert (erased["erased_now"], erased["pending"]) == (True, False)
    assert "没有未完成的销毁" in run(identified, "petitioner", "erase", "--finish", cwd=tmp_path).stdout


@pytest.mark.parametrize("args", [(), ("P-0001", "--finish")])
def test_erase_takes_a_reference_or_finish(county: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run(county, "petitioner", "erase", *args, cwd=tmp_path, check=False)
    assert done.returncode == 2 and "二者选一" in done.stderr
