"""Fixtures for the store's integration tests: the same tests on SQLite and PostgreSQL.

PostgreSQL runs in a throw-away database (``xinfang_store_<hex>``, dropped at the end of the
session) with a fresh schema per test, on the server of the ``postgres_admin`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from support.postgres import create_schema, drop_schema, postgres_database

from ledger.config import environment


@pytest.fixture(scope="session")
def pg_database(postgres_admin: str) -> Iterator[str]:
    """A database of its own for this session (and xdist worker), dropped at the end."""
    with postgres_database(postgres_admin, "xinfang_store") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """eventsourcing environment of an empty ledger on the parametrised engine."""
    if request.param == "sqlite":
        yield environment(f"sqlite:///{tmp_path}/ledger.sqlite3")
        return
    url = request.getfixturevalue("pg_database")
    schema = create_schema(url)
    yield {**environment(url), "POSTGRES_SCHEMA": schema}
    drop_schema(url, schema)


@pytest.fixture
def make_recorder(ledger_env: dict[str, str]) -> Iterator[Callable[[], Any]]:
    """Builds application recorders through the persistence module's factory; each one has its
    own tree cache, like a recorder in another process."""
    factories: list[InfrastructureFactory[Any]] = []

    def make() -> Any:
        factory = InfrastructureFactory.construct(Environment(env=ledger_env))
        factories.append(factory)
        return factory.application_recorder()

    yield make
    for factory in factories:
        factory.close()


@pytest.fixture
def recorder(make_recorder: Callable[[], Any]) -> Any:
    return make_recorder()
