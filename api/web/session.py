"""Who is signed in: the session cookie, its short cache, and the CSRF check of every form.

**Cookies.** ``xinfang_session`` holds a random session id (:mod:`ledger.sessions`); HttpOnly so
no script can read it, ``SameSite=Lax`` so a link from the county's office system opens a page
signed in while a cross-site form post arrives without it, ``Secure`` when the request came over
HTTPS. ``xinfang_signin`` is a random value set by the sign-in page, for the one form that is
posted before a session exists.

**Revocation.** A session is looked up in the database at most every :data:`RECHECK_SECONDS`
per worker; each lookup re-checks the token, so a revoked token ends its open sessions within
that time.

**CSRF.** Every unsafe request to a page carries ``_csrf`` (form field) or ``X-CSRF-Token``
(header, for scripts): an HMAC keyed by the session id (or the sign-in value), which a cross-site
page cannot compute because it cannot read either cookie. Nothing is stored for it and every
worker computes the same value. The JSON API under ``/api`` is not covered: it authenticates by
bearer token, which a browser never attaches on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from api.problems import ApiProblem
from ledger.sessions import SessionStore, hash_session
from schemas.common import Actor

SESSION_COOKIE = "xinfang_session"
SIGNIN_COOKIE = "xinfang_signin"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
RECHECK_SECONDS = 5.0
"""How long a worker trusts a session it has looked up without asking the database again."""

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(secret: str) -> str:
    """The form token of a session (or of a sign-in page): HMAC-SHA256 keyed by its cookie value."""
    return hmac.new(secret.encode(), b"xinfang-csrf", hashlib.sha256).hexdigest()


class WebSessions:
    """Sessions of one worker: the store, and a cache that spares the database on every request."""

    def __init__(self, store: SessionStore, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Actor | None]] = {}

    def cached(self, session_id: str) -> tuple[bool, Actor | None]:
        """``(True, actor)`` when the session was checked recently; no I/O, safe on the event loop."""
        hit = self._cache.get(hash_session(session_id))
        if hit is not None and self._monotonic() - hit[0] < RECHECK_SECONDS:
            return True, hit[1]
        return False, None

    def actor(self, session_id: str) -> Actor | None:
        known, actor = self.cached(session_id)
        if known:
            return actor
        checked_at = self._monotonic()
        actor = self.store.session_actor(session_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[hash_session(session_id)] = (checked_at, actor)
        return actor

    def sign_in(self, token: str) -> tuple[str, Actor] | None:
        return self.store.sign_in(token)

    def sign_out(self, session_id: str) -> None:
        self._cache.pop(hash_session(session_id), None)
        self.store.sign_out(session_id)


def web_sessions(connection: ASGIConnection[Any, Any, Any, Any]) -> WebSessions:
    sessions: WebSessions = connection.app.state["web_sessions"]
    return sessions


class SessionMiddleware(AbstractAuthenticationMiddleware):
    """``request.user`` is the session's actor; without a live session, 401 (the pages turn it into
    a redirect to the sign-in page)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        session_id = connection.cookies.get(SESSION_COOKIE, "")
        if not session_id:
            raise NotAuthorizedException()
        sessions = web_sessions(connection)
        known, actor = sessions.cached(session_id)
        if not known:
            actor = await anyio.to_thread.run_sync(sessions.actor, session_id)
        if actor is None:
            raise NotAuthorizedException()
        return AuthenticationResult(user=actor, auth=session_id)


session_middleware = DefineMiddleware(SessionMiddleware)


async def csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse (403) an unsafe request whose CSRF token does not match its session or sign-in cookie."""
    if connection.scope["method"] not in UNSAFE:
        return
    secret = connection.scope.get("auth") or connection.cookies.get(SIGNIN_COOKIE, "")
    supplied = connection.headers.get(CSRF_HEADER, "")
    if not supplied and isinstance(connection, Request):
        form = await connection.form()
        value = form.get(CSRF_FIELD, "")
        supplied = value if isinstance(value, str) else ""
    if not secret or not supplied or not hmac.compare_digest(supplied, csrf_token(secret)):
        raise ApiProblem("forbidden", "表单已失效或来自别的网站：请回到本站页面，刷新后重新提交。", code="csrf_refused")
