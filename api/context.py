"""The services one API process shares, and the dependencies that hand them to handlers.

The ledger is synchronous: handlers that touch it are sync and run in Litestar's thread pool
(``sync_to_thread=True``), so the event loop stays free. Writes in one process are serialised by
``write_lock`` (SQLite has one writer anyway; on PostgreSQL it keeps case numbering in one
process race-free); races between processes are retried by :meth:`ApiContext.execute`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from litestar import Request
from litestar.datastructures import State

from api.index import LogIndex
from api.policy import check_command
from api.problems import ApiProblem
from ledger.application import Ledger, china_now
from ledger.domain.case import business_day
from ledger.errors import Conflict, LedgerError
from ledger.projections.runner import Projector
from ledger.rules import RuleSet
from ledger.tokens import TokenStore
from ledger.vault import Vault
from schemas.commands import Command
from schemas.common import Actor
from schemas.views import CommandResult

TOKEN_CACHE_SECONDS = 10.0
"""How long a looked-up token is trusted without asking the database again (revocation delay)."""


class ApiContext:
    """Ledger, token store, identity vault and the log index of one API process."""

    def __init__(self, url: str | None = None, *, ledger: Ledger | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        if ledger is None:
            ledger = Ledger(url, rules=RuleSet.from_config(), clock=clock)  # rules file: $XINFANG_RULES
        self.ledger = ledger
        self.url = self.ledger.url
        self.clock = clock or china_now
        self.tokens = TokenStore(self.url)
        self.index = LogIndex(self.ledger)
        self.write_lock = threading.Lock()
        self._vault: Vault | None = None
        self._vault_lock = threading.Lock()
        self._token_cache: dict[str, tuple[float, Actor | None]] = {}
        self._projector: Projector | None = None
        self.integrity: Any = None
        """The proof service (:class:`api.integrity.service.Integrity`), made on first use."""

    def today(self) -> date:
        return business_day(self.clock())

    @property
    def vault(self) -> Vault:
        with self._vault_lock:
            if self._vault is None:
                self._vault = Vault.open(self.url)
            return self._vault

    @property
    def projector(self) -> Projector:
        """The projections (reports, appraisals), made on first use."""
        with self._vault_lock:
            if self._projector is None:
                self._projector = Projector.of(self.ledger)
            return self._projector

    def close(self) -> None:
        self.tokens.close()
        if self._projector is not None:
            self._projector.close()
        if self._vault is not None:
            self._vault.close()
        self.ledger.close()

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
        actor = self.tokens.lookup(token)
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        self._token_cache[token] = (now, actor)
        return actor

    # ── writes ───────────────────────────────────────────────────────────────

    def authorise(self, actor: Actor, command: Command) -> None:
        """Raise the problem that refuses ``command`` for ``actor``, if any (nothing is written)."""
        self.index.catch_up()
        refused = check_command(actor, command, self.index)
        if refused is not None:
            raise ApiProblem("forbidden" if refused.status == 403 else "not-found", refused.detail,
                             code="forbidden" if refused.status == 403 else "not_found")

    def execute(self, command: Command, actor: Actor) -> CommandResult:
        """Authorise and execute one command; lost races are decided again, never reported.

        A command without ``expected_version`` means "on the current state": if another
        process wrote first, it is decided again against the new state (and may then be
        refused for a real reason). Two requests racing with one ``command_id`` end as one
        result and one repeat.
        """
        self.authorise(actor, command)
        for attempt in range(5):
            try:
                with self.write_lock:
                    return self.ledger.execute(command, actor)
            except Conflict as exc:
                retry = (exc.code == "stale_version" and command.expected_version is None) or (
                    exc.code == "command_id_reused" and attempt == 0
                )
                if not retry:
                    raise
                self.index.catch_up()
        raise Conflict("与其他写入者反复冲突，请稍后重试", code="write_conflict")

    def execute_many(self, commands: list[Command], actor: Actor, batch: str) -> Iterator[CommandResult | LedgerError]:
        with self.write_lock:
            yield from self.ledger.execute_many(commands, actor, batch=batch)


def provide_context(state: State) -> ApiContext:
    return state["context"]  # type: ignore[no-any-return]


def provide_actor(request: Request[Actor, Any, Any]) -> Actor:
    return request.user


DEPENDENCIES: dict[str, Any] = {}
"""Filled in :mod:`api.app` (``Provide`` objects), kept here so slices can import the names."""
