"""Where the ledger lives: a database URL turned into eventsourcing's environment.

``sqlite:///var/xinfang.sqlite3`` (relative) or ``sqlite:////abs/path.sqlite3`` selects
our SQLite persistence module; ``postgresql://user:pass@host:port/dbname`` selects the
PostgreSQL one. Everything else about storage follows from that one string.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger.errors import ConfigError
from ledger.private_files import create_private

DEFAULT_URL = "sqlite:///var/xinfang.sqlite3"
URL_VARIABLE = "XINFANG_DATABASE_URL"


def database_url(explicit: str | None = None) -> str:
    """The URL in force: the explicit one, else the environment, else the default file."""
    return explicit or os.environ.get(URL_VARIABLE) or DEFAULT_URL


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None for another engine."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def create_database_file(path: Path) -> None:
    """Make a SQLite database file readable by the service user only (0600) before SQLite creates it
    with 0644; SQLite gives its -wal, -shm and -journal files the same mode. An existing file keeps its mode."""
    if str(path) != ":memory:":
        create_private(path)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def environment(url: str) -> dict[str, str]:
    """eventsourcing settings for the database named by ``url``."""
    path = sqlite_path(url)
    if path is not None:
        if not path.name:
            raise ConfigError("数据库地址缺少文件名，例如 sqlite:///var/xinfang.sqlite3", code="bad_database_url")
        create_database_file(path)
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if is_postgres(url):
        parts = urlsplit(url)
        dbname = parts.path.lstrip("/")
        if not dbname:
            raise ConfigError("PostgreSQL 地址缺少数据库名，例如 postgresql://postgres@127.0.0.1:5432/xinfang", code="bad_database_url")
        return {
            "PERSISTENCE_MODULE": "ledger.store.postgres",
            "POSTGRES_DBNAME": unquote(dbname),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_LOCK_TIMEOUT": "30",
        }
    raise ConfigError(
        f"不支持的数据库地址（{scheme_of(url)}）：请使用 sqlite:///文件路径 或 postgresql://用户@主机:端口/库名",
        code="bad_database_url",
    )


def scheme_of(url: str) -> str:
    """What an error may echo of a URL: its scheme only, since the rest may hold a password."""
    return url.split("://", 1)[0] if "://" in url else url[:20]
