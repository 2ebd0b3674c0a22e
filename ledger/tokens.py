"""API tokens: bearer secrets that map to an actor (id, unit, role), stored only as hashes.

A token is ``xft_`` followed by 32 random bytes (URL-safe base64). The database keeps the
SHA-256 of the whole token, never the token itself, so a copy of the table grants nothing.
The token is shown once, when it is issued (``xinfang token create``).

Table (created if missing), in the ledger's database::

    api_tokens (token_sha256 PRIMARY KEY, actor_id, unit, role, label, created_at, revoked_at or NULL)

Like :mod:`ledger.vault`, one :class:`TokenStore` holds one connection (SQLite or PostgreSQL)
and serialises its calls with a lock.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any, get_args

import psycopg

from ledger.config import create_database_file, database_url, is_postgres, sqlite_path
from ledger.errors import ConfigError, InvalidInput, LedgerError, NotFound
from schemas.common import Actor, Role
from schemas.tokens import TokenInfo

PREFIX = "xft_"
ISSUABLE_ROLES: tuple[str, ...] = tuple(r for r in get_args(Role) if r not in ("system", "operator"))
"""Roles a token may carry: ``system`` is the ledger's own writes, ``operator`` the local command line."""

_DDL = {
    "sqlite": """CREATE TABLE IF NOT EXISTS api_tokens (
        token_sha256 TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL,
        unit TEXT NOT NULL,
        role TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        revoked_at TEXT)""",
    "postgresql": """CREATE TABLE IF NOT EXISTS api_tokens (
        token_sha256 TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL,
        unit TEXT NOT NULL,
        role TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ)""",
}
_SCHEMA_LOCK = 0x78_69_6E_66_74_6F_6B  # "xinftok": serialises concurrent CREATE TABLE on PostgreSQL


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Issue, look up and revoke API tokens in the ledger's database."""

    def __init__(self, url: str | None = None) -> None:
        url = database_url(url)
        self._url = url
        self._lock = threading.Lock()
        path = sqlite_path(url)
        try:
            if path is not None:
                create_database_file(path)
                self._dialect = "sqlite"
                self._conn: Any = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                self._conn.execute(_DDL["sqlite"])
            elif is_postgres(url):
                self._dialect = "postgresql"
                self._conn = psycopg.connect(url, autocommit=True)
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    self._conn.execute(_DDL["postgresql"])
            else:
                raise ConfigError("不支持的数据库地址：请使用 sqlite:///文件路径 或 postgresql://…", code="bad_database_url")
        except (sqlite3.Error, psycopg.Error) as exc:
            raise ConfigError(f"无法打开令牌表：{exc}", code="token_store_unavailable") from exc

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if self._dialect == "postgresql":
            sql = sql.replace("?", "%s")
            if self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(self._url, autocommit=True)  # the server restarted: reconnect once
        try:
            return self._conn.execute(sql, params)
        except (sqlite3.OperationalError, psycopg.OperationalError) as exc:
            raise LedgerError(f"令牌表暂不可用：{exc}", code="token_store_unavailable") from exc

    def _now(self) -> Any:
        now = datetime.now(UTC)
        return now.isoformat() if self._dialect == "sqlite" else now

    def create(self, actor: Actor, *, label: str = "") -> str:
        """Issue a token for ``actor``; the only time the secret exists outside the client."""
        if actor.role not in ISSUABLE_ROLES:
            raise InvalidInput(f"角色 {actor.role} 不能签发令牌", code="invalid_role")
        token = PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            self._execute(
                "INSERT INTO api_tokens (token_sha256, actor_id, unit, role, label, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (hash_token(token), actor.id, actor.unit, actor.role, label, self._now()),
            )
        return token

    def lookup(self, token: str) -> Actor | None:
        """The actor of a valid, unrevoked token; None otherwise."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        return self.actor_for_hash(hash_token(token))

    def actor_for_hash(self, token_sha256: str) -> Actor | None:
        """The actor of the valid, unrevoked token with this hash: the one rule of a token's validity,
        which browser sessions (:mod:`ledger.sessions`) re-check too."""
        with self._lock:
            row = self._execute(
                "SELECT actor_id, unit, role FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL",
                (token_sha256,),
            ).fetchone()
        if row is None:
            return None
        return Actor(id=row[0], unit=row[1], role=row[2])

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._execute(
                "SELECT token_sha256, actor_id, unit, role, label, created_at, revoked_at FROM api_tokens "
                "ORDER BY created_at, token_sha256"
            ).fetchall()
        return [
            TokenInfo(
                id=row[0][:12],
                actor=Actor(id=row[1], unit=row[2], role=row[3]),
                label=row[4],
                created_at=str(row[5]),
                revoked=row[6] is not None,
            )
            for row in rows
        ]

    def revoke(self, token_id: str) -> int:
        """Revoke the tokens whose hash starts with ``token_id`` (at least 8 hex digits)."""
        if len(token_id) < 8 or any(c not in "0123456789abcdef" for c in token_id):
            raise InvalidInput("令牌编号应为至少 8 位十六进制数字（见 xinfang token list）", code="invalid_token_id")
        with self._lock:
            cursor = self._execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_sha256 LIKE ? AND revoked_at IS NULL",
                (self._now(), token_id + "%"),
            )
            count = cursor.rowcount
        if not count:
            raise NotFound(f"没有编号为 {token_id} 的有效令牌", code="unknown_token")
        return int(count)

    def revoke_labelled(self, label: str) -> int:
        """Revoke every live token with ``label`` (used to re-issue the demo tokens)."""
        with self._lock:
            cursor = self._execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE label = ? AND revoked_at IS NULL", (self._now(), label)
            )
            return int(cursor.rowcount)
