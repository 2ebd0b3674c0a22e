"""Fixtures for the projection tests: a county ledger on each engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.projections import County


@pytest.fixture
def county(database_url: str) -> Iterator[County]:
    made = County(database_url)
    yield made
    made.close()
