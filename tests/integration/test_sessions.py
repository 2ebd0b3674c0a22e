"""Browser sessions on SQLite and PostgreSQL: a token exchanged for a session that ends with the
token (revocation), at sign-out, after 8 hours idle or 12 hours in all — and a table that holds no
secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ledger.sessions import SessionStore
from ledger.tokens import TokenStore
from schemas.common import Actor

INSPECTOR = Actor(id="inspector-1", unit="county", role="inspector")


class Clock:
    """A wall clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[SessionStore]:
    with SessionStore(database_url, clock=clock) as opened:
        yield opened


def rows(store: SessionStore) -> list[tuple[str, ...]]:
    with store._lock:
        return [tuple(str(v) for v in row) for row in store._execute("SELECT * FROM web_sessions").fetchall()]


def test_a_valid_token_opens_a_session_for_its_actor(store: SessionStore) -> None:
    token = store.create(INSPECTOR)
    opened = store.sign_in(token)
    assert opened is not None
    session_id, actor = opened
    assert actor == INSPECTOR
    assert store.session_actor(session_id) == INSPECTOR


@pytest.mark.parametrize("token", ["", "xft_", "xft_notissued", "not-a-token", "xft_" + "a" * 300])
def test_an_invalid_token_opens_nothing(store: SessionStore, token: str) -> None:
    store.create(INSPECTOR)
    assert store.sign_in(token) is None
    assert rows(store) == []


def test_the_table_keeps_hashes_of_the_session_and_the_token_never_either_secret(store: SessionStore) -> None:
    token = store.create(INSPECTOR)
    session_id, _ = store.sign_in(token) or ("", None)
    [row] = rows(store)
    assert row[0] == hashlib.sha256(session_id.encode()).hexdigest()
    assert row[1] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(session_id in value or token in value for value in row)


def test_revoking_the_token_ends_its_sessions_at_their_next_check(store: SessionStore, database_url: str) -> None:
    token = store.create(INSPECTOR)
    first, _ = store.sign_in(token) or ("", None)
    second, _ = store.sign_in(token) or ("", None)
    with TokenStore(database_url) as other_process:
        other_process.revoke(hashlib.sha256(token.encode()).hexdigest()[:12])
    assert store.session_actor(first) is None
    assert store.session_actor(second) is None
    assert rows(store) == []


def test_sign_out_ends_only_that_session(store: SessionStore) -> None:
    token = store.create(INSPECTOR)
    kept, _ = store.sign_in(token) or ("", None)
    ended, _ = store.sign_in(token) or ("", None)
    store.sign_out(ended)
    assert store.session_actor(ended) is None
    assert store.session_actor(kept) == INSPECTOR


def test_a_session_in_use_lives_on_past_eight_hours(store: SessionStore, clock: Clock) -> None:
    session_id, _ = store.sign_in(store.create(INSPECTOR)) or ("", None)
    clock.now += timedelta(hours=4)
    assert store.session_actor(session_id) == INSPECTOR
    clock.now += timedelta(hours=7, minutes=59)
    assert store.session_actor(session_id) == INSPECTOR  # 11 h 59 min after sign-in, never 8 h idle


def test_a_session_ends_after_eight_idle_hours(store: SessionStore, clock: Clock) -> None:
    session_id, _ = store.sign_in(store.create(INSPECTOR)) or ("", None)
    clock.now += timedelta(hours=1)
    assert store.session_actor(session_id) == INSPECTOR
    clock.now += timedelta(hours=8, seconds=1)  # 9 h after sign-in: only the idle limit applies
    assert store.session_actor(session_id) is None
    clock.now -= timedelta(hours=8)
    assert store.session_actor(session_id) is None, "an ended session does not come back"


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(store: SessionStore, clock: Clock) -> None:
    session_id, _ = store.sign_in(store.create(INSPECTOR)) or ("", None)
    for _ in range(11):
        clock.now += timedelta(hours=1)
        assert store.session_actor(session_id) == INSPECTOR
    clock.now += timedelta(hours=1, seconds=1)
    assert store.session_actor(session_id) is None


def test_signing_in_clears_expired_sessions(store: SessionStore, clock: Clock) -> None:
    token = store.create(INSPECTOR)
    store.sign_in(token)
    store.sign_in(token)
    clock.now += timedelta(hours=9)
    fresh, _ = store.sign_in(token) or ("", None)
    assert [row[0] for row in rows(store)] == [hashlib.sha256(fresh.encode()).hexdigest()]
