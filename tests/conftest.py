"""Shared fixtures: a real SQLite file and a real PostgreSQL database for every ledger test.

PostgreSQL tests run whenever the server answers; with ``XINFANG_REQUIRE_POSTGRES=1``
(CI) an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import settings
from support.postgres import postgres_database

settings.register_profile("ledger", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("ledger"), derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") or os.environ.get("XINFANG_CI") else "ledger")
"""No per-example deadline: CI shares two cores, and a slow example is not a wrong one. In CI
(``CI`` or ``XINFANG_CI`` set) the examples are derandomized and no example database is read, so
a run there is the same on every machine; whatever a local run finds is kept as a named test."""

POSTGRES_ADMIN_URL = os.environ.get("XINFANG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc)


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    problem = _postgres_available()
    if problem is not None:
        if os.environ.get("XINFANG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL 不可达，而本次运行要求 PostgreSQL：{problem}")
        pytest.skip(f"PostgreSQL 不可达，跳过 PostgreSQL 变体：{problem}")
    return POSTGRES_ADMIN_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty ledger database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('ledger')}/ledger.sqlite3"
        return
    with postgres_database(request.getfixturevalue("postgres_admin")) as url:
        yield url


@pytest.fixture
def ledger(database_url: str) -> Iterator[Any]:
    """A ledger holding the small test county (tests/support/county.py), with a clock in 2022."""
    from ledger.application import Ledger
    from support.county import ADMIN, START, county_setup

    app = Ledger(database_url, clock=lambda: START + timedelta(days=400))
    for cmd in county_setup():
        app.execute(cmd, ADMIN)
    yield app
    app.close()
