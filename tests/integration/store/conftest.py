"""Fixtures for the store's integration tests: the same tests on SQLite and PostgreSQL.

PostgreSQL runs in a throw-away database (``xinfang_store_<hex>``, dropped at the end of the
session) with a fresh schema per test. It is skipped when the server is unreachable, unless
``XINFANG_REQUIRE_POSTGRES=1`` makes that a failure. Server address from the libpq variables
``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD`` (default ``postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg import sql

PG_SERVER = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
    "password": os.environ.get("PGPASSWORD", ""),
}


def pg_connect(dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=3, **PG_SERVER)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this session (and xdist worker), dropped at the end."""
    name = "xinfang_store_" + secrets.token_hex(6)
    try:
        admin = pg_connect("postgres")
    except psycopg.OperationalError as e:
        reason = f"PostgreSQL unreachable at {PG_SERVER['host']}:{PG_SERVER['port']}: {e}".strip()
        if os.environ.get("XINFANG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (XINFANG_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(f"{reason}; set XINFANG_REQUIRE_POSTGRES=1 to fail instead")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with pg_connect("postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """eventsourcing environment of an empty ledger on the parametrised engine."""
    if request.param == "sqlite":
        yield {
            "PERSISTENCE_MODULE": "ledger.store.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "ledger.sqlite3"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
        return
    dbname = request.getfixturevalue("pg_database")
    schema = "t_" + secrets.token_hex(6)
    with pg_connect(dbname) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield {
        "PERSISTENCE_MODULE": "ledger.store.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": PG_SERVER["host"],
        "POSTGRES_PORT": PG_SERVER["port"],
        "POSTGRES_USER": PG_SERVER["user"],
        "POSTGRES_PASSWORD": PG_SERVER["password"],
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_LOCK_TIMEOUT": "30",
    }
    with pg_connect(dbname) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


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
