"""Fixtures for the API tests: a county world on a fresh database (see :mod:`api_world`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import World, build_world


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("XINFANG_KEY_FILE", str(tmp_path / "ledger.key"))
    yield from build_world(database_url, tmp_path / "ledger.key")


@pytest.fixture
def sqlite_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("XINFANG_KEY_FILE", str(tmp_path / "ledger.key"))
    yield from build_world(f"sqlite:///{tmp_path}/ledger.sqlite3", tmp_path / "ledger.key")
