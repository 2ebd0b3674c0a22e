"""Tampering behind the ledger's back, on SQLite and PostgreSQL: the verifier names the first
damaged seq, its case and the kind of damage; the untouched ledger passes; a history rewritten
consistently (every hash recomputed) is caught by a checkpoint held outside and by the witness.

The ledger: six units and two officials (seq 0–7), case 2021-000001 (seq 8–12), 2021-000002
(13–18), 2021-000003 (19–21).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from support.tamper import Operator, backdate, build_county, flip

from ledger.application import Ledger
from ledger.integrity.keys import create_key
from ledger.integrity.verify import verify
from schemas.integrity import VerifyReport

XINFANG = str(Path(sys.executable).with_name("xinfang"))


@pytest.fixture
def county(database_url: str) -> str:
    last = build_county(database_url)
    assert last == {"2021-000001": 12, "2021-000002": 18, "2021-000003": 21}
    return database_url


@pytest.fixture
def key_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    key = tmp_path / "keys" / "ledger.key"
    create_key(key)
    yield {**os.environ, "XINFANG_KEY_FILE": str(key)}


def check(url: str, **kwargs: Any) -> VerifyReport:
    ledger = Ledger(url)
    try:
        return verify(ledger.recorder, **kwargs)
    finally:
        ledger.close()


def xinfang(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XINFANG, "--db", url, *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_untouched_ledger_verifies(county: str, key_env: dict[str, str]) -> None:
    report = check(county)
    assert report.ok and report.failure is None
    assert report.tree_size == report.verified == 22
    done = xinfang(county, key_env, "verify", "--json")
    assert done.returncode == 0, done.stderr
    cli = msgspec.json.decode(done.stdout)
    assert cli["ok"] and cli["root"] == report.root
    human = xinfang(county, key_env, "verify")
    assert human.returncode == 0 and "账本完整" in human.stdout


Tamper = Callable[[Operator], None]

SCENARIOS: dict[str, tuple[Tamper, int, str, str | None]] = {
    "payload byte changed": (lambda op: op.set_state(9, flip(op.event(9)[3], b"town-a", b"town-b")),
                             9, "payload_changed", "2021-000001"),
    "recorded time changed": (lambda op: op.set_state(15, backdate(op.event(15)[3])),
                              15, "backdated", "2021-000002"),
    "middle event deleted": (lambda op: op.delete_event(10), 10, "event_missing", None),
    "middle event row deleted, leaf left": (lambda op: op.delete_event(16, leaf=False),
                                            16, "event_missing", "2021-000002"),
    "last event deleted": (lambda op: op.delete_event(21), 21, "event_missing", None),
    "two events swapped": (lambda op: op.swap(11, 17), 11, "reordered", "2021-000002"),
    "forged event inserted": (lambda op: op.forge(14, 12), 14, "inserted", "2021-000001"),
    "forged event row without a leaf": (lambda op: op.forge_event_only(21), 22, "inserted", "2021-000003"),
    "tree node changed": (lambda op: op.set_node(1, 2, b"\x00" * 32), 4, "node_changed", None),
    "prev chain cut, every hash recomputed": (lambda op: op.break_chain(10), 10, "leaf_changed", "2021-000001"),
    "last link of a chain cut": (lambda op: op.break_chain(21), 21, "leaf_changed", "2021-000003"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_kind_of_damage_is_named_at_its_seq(county: str, scenario: str) -> None:
    tamper, seq, kind, case = SCENARIOS[scenario]
    with Operator(county) as operator:
        tamper(operator)
    report = check(county)
    assert not report.ok
    failure = report.failure
    assert failure is not None
    assert (failure.seq, failure.kind) == (seq, kind), failure.message
    if case is not None:
        assert failure.case == case, failure
    assert report.verified == seq


def test_the_cli_names_the_damage_and_exits_1(county: str, key_env: dict[str, str]) -> None:
    with Operator(county) as operator:
        operator.set_state(9, flip(operator.event(9)[3], b"town-a", b"town-b"))
    done = xinfang(county, key_env, "verify")
    assert done.returncode == 1
    assert "序号 9" in done.stdout and "2021-000001" in done.stdout and "payload_changed" in done.stdout
    report = msgspec.json.decode(xinfang(county, key_env, "verify", "--json").stdout)
    assert report["failure"]["seq"] == 9 and report["failure"]["kind"] == "payload_changed"


def test_deleting_the_tail_and_its_nodes_is_caught_by_a_checkpoint(county: str, key_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    note = tmp_path / "size-22.note"
    issued = xinfang(county, key_env, "checkpoint")
    assert issued.returncode == 0, issued.stderr
    note.write_text(issued.stdout, encoding="utf-8")
    key = xinfang(county, key_env, "checkpoint", "--verifier-key").stdout.strip()
    with Operator(county) as operator:
        operator.delete_event(21, nodes=True)
        operator.q("DELETE FROM ledger_checkpoints")
    no_key = {k: v for k, v in key_env.items() if k != "XINFANG_KEY_FILE"}
    no_key["XINFANG_KEY_FILE"] = str(tmp_path / "absent.key")
    assert xinfang(county, no_key, "verify").returncode == 0  # a shorter log, consistent on its own
    done = xinfang(county, no_key, "verify", "--json", "--against", str(note), "--verifier-key", key)
    assert done.returncode == 1, done.stdout
    failure = msgspec.json.decode(done.stdout)["failure"]
    assert (failure["seq"], failure["kind"]) == (21, "event_missing")


def test_a_consistent_rewrite_is_caught_by_the_witness_and_an_old_checkpoint(
    county: str, key_env: dict[str, str], tmp_path: Path
) -> None:
    state = tmp_path / "witness"
    first = xinfang(county, key_env, "witness", "--state", str(state))
    assert first.returncode == 0 and "首次见证" in first.stdout, first.stdout + first.stderr
    old = tmp_path / "old.note"
    old.write_text(xinfang(county, key_env, "checkpoint").stdout, encoding="utf-8")
    with Operator(county) as operator:
        operator.rewrite_from(9, flip(operator.event(9)[3], b"town-a", b"town-b"))
    assert check(county).ok  # every hash recomputed: the log alone cannot tell
    done = xinfang(county, key_env, "--json", "verify", "--against", str(old))
    assert done.returncode == 1
    failure = msgspec.json.decode(done.stdout)["failure"]
    assert failure["kind"] == "checkpoint_inconsistent" and failure["seq"] == 0
    refused = xinfang(county, key_env, "witness", "--state", str(state))
    assert refused.returncode == 1
    assert "拒绝" in refused.stdout and "改写" in refused.stdout
    assert list((state / "evidence").glob("*.note"))
    assert len(list((state / "checkpoints").glob("*.note"))) == 1


def test_the_witness_accepts_a_log_that_only_grew(county: str, key_env: dict[str, str], tmp_path: Path) -> None:
    from datetime import timedelta

    from support.county import HANDLER, START, command
    from support.tamper import Clock

    state = tmp_path / "witness"
    assert xinfang(county, key_env, "witness", "--state", str(state)).returncode == 0
    ledger = Ledger(county, clock=Clock(days=401))
    ledger.execute(command("RecordInvestigation", START + timedelta(days=10), case="2021-000003"), HANDLER)
    ledger.close()
    grown = xinfang(county, key_env, "--json", "witness", "--state", str(state))
    assert grown.returncode == 0, grown.stdout + grown.stderr
    result = msgspec.json.decode(grown.stdout)
    assert result["accepted"] and (result["previous_size"], result["tree_size"]) == (22, 23)
    assert check(county, verifier_key=xinfang(county, key_env, "checkpoint", "--verifier-key").stdout.strip()).ok
