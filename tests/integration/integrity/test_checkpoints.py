"""Checkpoints: a stable origin, one stored row per tree state, no signature over a tree that does
not extend the last one signed, and proofs that agree with the checkpoints (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.county import HANDLER, START, command
from support.tamper import Clock, Operator, build_county, flip

from ledger.application import Ledger
from ledger.errors import ConfigError, IntegrityFailure, InvalidInput, NotFound
from ledger import merkle
from ledger.integrity import note
from ledger.integrity.checkpoints import Checkpoints, default_origin
from ledger.integrity.keys import create_key
from ledger.integrity.proofs import Proofs
from ledger.integrity.verify import verify


@pytest.fixture
def ledger(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    key = tmp_path / "signing.key"
    create_key(key)
    monkeypatch.setenv("XINFANG_KEY_FILE", str(key))
    monkeypatch.delenv("XINFANG_LOG_NAME", raising=False)
    build_county(database_url)
    made = Ledger(database_url, clock=Clock(days=401))
    yield made
    made.close()


def test_the_origin_is_named_once_and_kept(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoints = Checkpoints(ledger.recorder, ledger.url)
    origin = checkpoints.origin()
    assert origin == default_origin(ledger.url) and origin.startswith("xinfang-ledger/")
    key = checkpoints.verifier_key()
    assert key.startswith(origin + "+")
    signed = note.open_checkpoint(checkpoints.issue(), key)
    assert signed.origin == origin and signed.size == 22
    monkeypatch.setenv("XINFANG_LOG_NAME", "示范县 东区")
    assert default_origin(ledger.url) == "xinfang-ledger/示范县-东区"
    assert checkpoints.origin() == origin, "the first stored checkpoint fixes the name"


def test_one_row_per_tree_state_and_proofs_that_agree(ledger: Ledger) -> None:
    checkpoints = Checkpoints(ledger.recorder, ledger.url)
    first = checkpoints.issue()
    assert checkpoints.issue() == first and len(checkpoints.list()) == 1
    ledger.execute(command("RecordInvestigation", START + timedelta(days=10), case="2021-000003"), HANDLER)
    second = checkpoints.issue()
    rows = checkpoints.list()
    assert [r.tree_size for r in rows] == [22, 23] and rows[1].note == second
    key = checkpoints.verifier_key()
    old, new = note.open_checkpoint(first, key), note.open_checkpoint(second, key)
    proofs = Proofs(ledger.recorder)
    consistency = proofs.consistency(old.size, new.size)
    merkle.verify_consistency(old.size, new.size, old.root, new.root, [bytes.fromhex(h) for h in consistency.consistency_path])
    inclusion = proofs.inclusion(22, 23)
    merkle.verify_inclusion(22, 23, bytes.fromhex(inclusion.leaf_hash), [bytes.fromhex(h) for h in inclusion.inclusion_path],
                            new.root)
    report = verify(ledger.recorder, verifier_key=key)
    assert report.ok and [c.tree_size for c in report.checkpoints] == [22, 23]
    assert all(c.signature_checked and c.ok for c in report.checkpoints)


def test_no_checkpoint_for_a_tree_that_does_not_extend_the_last_one(ledger: Ledger) -> None:
    checkpoints = Checkpoints(ledger.recorder, ledger.url)
    checkpoints.issue()
    with Operator(ledger.url) as operator:  # nodes rewritten, the stored checkpoint left in place
        operator.set_node(4, 0, b"\x01" * 32)
    ledger.execute(command("RecordInvestigation", START + timedelta(days=10), case="2021-000003"), HANDLER)
    with pytest.raises(IntegrityFailure, match="不是已签发检查点"):
        checkpoints.issue()
    assert len(checkpoints.list()) == 1
    with Operator(ledger.url) as operator:  # the whole history rewritten, stored checkpoints deleted
        operator.rewrite_from(9, flip(operator.event(9)[3], b"town-a", b"town-b"))
    assert checkpoints.list() == []
    assert note.open_checkpoint(checkpoints.issue(), checkpoints.verifier_key()).size == 23  # only a witness can tell


def test_bad_requests_are_named(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proofs = Proofs(ledger.recorder)
    with pytest.raises(InvalidInput):
        proofs.inclusion(22, 22)
    with pytest.raises(InvalidInput):
        proofs.inclusion(0, 23)
    with pytest.raises(InvalidInput):
        proofs.consistency(0, 5)
    with pytest.raises(NotFound):
        proofs.case_proof("2099-000001")
    assert proofs.root(0) == merkle.EMPTY_ROOT
    monkeypatch.setenv("XINFANG_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(ConfigError):
        Checkpoints(ledger.recorder, ledger.url).issue()
