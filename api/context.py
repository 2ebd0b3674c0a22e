"""The services one API process shares, and the dependencies that hand them to handlers.

Everything comes from the composition root (:func:`ledger.bootstrap.bootstrap`): the ledger, the
read model, the access policy, tokens and the vault. The API keeps no state of its own about the
ledger — only a few seconds' cache of token lookups — so workers start in constant time and agree
with each other as soon as a write is made.

The ledger is synchronous: handlers that touch it are sync and run in Litestar's thread pool
(``sync_to_thread=True``), so the event loop stays free.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from litestar import Request
from litestar.datastructures import State

from ledger.access import Viewer
from ledger.bootstrap import Services
from schemas.common import Actor

TOKEN_CACHE_SECONDS = 5.0
"""How long a looked-up token is trusted without asking the database again (revocation delay)."""


class ApiContext:
    """The services of one API process and its short-lived token cache."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = services.ledger
        self.url = services.url
        self.clock = services.clock
        self.access = services.access
        self.read = services.read
        self._token_cache: dict[str, tuple[float, Actor | None]] = {}
        self.integrity: Any = None
        """The proof service (:class:`api.integrity.service.Integrity`), made on first use."""

    def today(self) -> date:
        return self.services.today()

    def viewer(self, actor: Actor) -> Viewer:
        return self.services.viewer(actor)

    def close(self) -> None:
        self.services.close()

    # ── auth ─────────────────────────────────────────────────────────────────

    def cached_actor(self, token: str) -> tuple[bool, Actor | None]:
        """``(True, actor)`` when the token was looked up recently; no I/O, safe on the event loop."""
        cached = self._token_cache.get(token)
        if cached is not None and time.monotonic() - cached[0] < TOKEN_CACHE_SECONDS:
            return True, cached[1]
        return False, None

    def actor_for(self, token: str) -> Actor | None:
        known, actor = self.cached_actor(token)
        if known:
            return actor
        now = time.monotonic()
        actor = self.services.tokens.lookup(token)
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        self._token_cache[token] = (now, actor)
        return actor


def provide_context(state: State) -> ApiContext:
    return state["context"]  # type: ignore[no-any-return]


def provide_actor(request: Request[Actor, Any, Any]) -> Actor:
    return request.user
