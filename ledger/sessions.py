"""Browser sessions: a token (:mod:`ledger.tokens`) exchanged once for a server-side session.

The browser never keeps the token. It holds a random session id in a cookie; the table keeps only
the SHA-256 of that id and the SHA-256 of the token it stands for, so a copy of the table opens no
session and reveals no token. Every check of a session asks the token store again
(:meth:`~ledger.tokens.TokenStore.actor_for_hash`): a revoked token ends its sessions at their next
check, and whatever else makes a token invalid does too.

A session ends at sign-out, after ``idle`` without a check, or ``absolute`` after sign-in,
whichever comes first. Expired rows are removed when they are next presented and at every sign-in.

Table (created if missing), in the ledger's database beside ``api_tokens``::

    web_sessions (session_sha256 PRIMARY KEY, token_sha256, created_at, seen_at)

A :class:`SessionStore` is a :class:`~ledger.tokens.TokenStore` with one more table, on the same
connection and lock: a process that needs both can hold just this one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.tokens import TokenStore, hash_token
from schemas.common import Actor

IDLE = timedelta(hours=8)
ABSOLUTE = timedelta(hours=12)

_DDL = {
    "sqlite": """CREATE TABLE IF NOT EXISTS web_sessions (
        session_sha256 TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        seen_at TEXT NOT NULL)""",
    "postgresql": """CREATE TABLE IF NOT EXISTS web_sessions (
        session_sha256 TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL)""",
}
_SCHEMA_LOCK = 0x78_69_6E_66_77_65_62  # "xinfweb": serialises concurrent CREATE TABLE on PostgreSQL


def _utc_now() -> datetime:
    return datetime.now(UTC)


def hash_session(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore(TokenStore):
    """Tokens, and the browser sessions that stand in for them."""

    def __init__(self, url: str | None = None, *, idle: timedelta = IDLE, absolute: timedelta = ABSOLUTE,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__(url)
        self.idle = idle
        self.absolute = absolute
        self._clock = clock
        with self._lock:
            if self._dialect == "postgresql":
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    self._conn.execute(_DDL["postgresql"])
            else:
                self._execute(_DDL["sqlite"])

    def _stamp(self, moment: datetime) -> Any:
        """A time as stored: fixed-width UTC text on SQLite (so text order is time order)."""
        return moment.astimezone(UTC).isoformat(timespec="microseconds") if self._dialect == "sqlite" else moment

    @staticmethod
    def _read(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    def sign_in(self, token: str) -> tuple[str, Actor] | None:
        """A new session for a valid token: ``(session id, actor)``; None for a token that is not valid."""
        actor = self.lookup(token)
        if actor is None:
            return None
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._execute("DELETE FROM web_sessions WHERE seen_at < ? OR created_at < ?",
                          (self._stamp(now - self.idle), self._stamp(now - self.absolute)))
            self._execute(
                "INSERT INTO web_sessions (session_sha256, token_sha256, created_at, seen_at) VALUES (?, ?, ?, ?)",
                (hash_session(session_id), hash_token(token), self._stamp(now), self._stamp(now)),
            )
        return session_id, actor

    def session_actor(self, session_id: str) -> Actor | None:
        """The actor of a live session whose token is still valid; ends the session otherwise."""
        if len(session_id) > 200:
            return None
        key = hash_session(session_id)
        with self._lock:
            row = self._execute(
                "SELECT token_sha256, created_at, seen_at FROM web_sessions WHERE session_sha256 = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        now = self._clock()
        alive = now - self._read(row[2]) <= self.idle and now - self._read(row[1]) <= self.absolute
        actor = self.actor_for_hash(row[0]) if alive else None
        with self._lock:
            if actor is None:
                self._execute("DELETE FROM web_sessions WHERE session_sha256 = ?", (key,))
            else:
                self._execute("UPDATE web_sessions SET seen_at = ? WHERE session_sha256 = ?", (self._stamp(now), key))
        return actor

    def sign_out(self, session_id: str) -> None:
        with self._lock:
            self._execute("DELETE FROM web_sessions WHERE session_sha256 = ?", (hash_session(session_id),))
