"""Verification in two processes gives the same verdicts as in one.

Pages of two leaves, so the 22-event county splits at seq 10, inside case 2021-000001 (seq 8–12):
the second half starts from predecessors and a tree edge taken from the stored first half.
"""

from __future__ import annotations

import pytest
from support.tamper import Operator, build_county
from test_tamper import SCENARIOS

from ledger.application import Ledger
from ledger.integrity import verify as verifier
from schemas.integrity import VerifyReport


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verifier, "PAGE_BITS", 1)
    monkeypatch.setattr(verifier, "PAGE", 2)
    monkeypatch.setattr(verifier, "SPLIT_MIN_PAGES", 2)


def run(url: str, *, split: bool) -> VerifyReport:
    ledger = Ledger(url)
    try:
        return verifier.verify(ledger.recorder, reopen=verifier.reopen_url(url) if split else None)
    finally:
        ledger.close()


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_two_processes_agree_with_one(database_url: str, scenario: str | None) -> None:
    build_county(database_url)
    if scenario is not None:
        with Operator(database_url) as operator:
            SCENARIOS[scenario][0](operator)
    one, two = run(database_url, split=False), run(database_url, split=True)
    assert (two.ok, two.root, two.verified, two.failure) == (one.ok, one.root, one.verified, one.failure)
    if scenario is None:
        assert two.ok and two.verified == 22
    else:
        assert two.failure is not None and two.failure.seq == SCENARIOS[scenario][1]
