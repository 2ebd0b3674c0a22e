"""Fixtures of the end-to-end tests: a county built through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import build_county


@pytest.fixture
def county(database_url: str, tmp_path: Path) -> str:
    return build_county(database_url, tmp_path)
