"""The composition root: one place that builds the ledger's services, used by every entry point.

``bootstrap(url, rules_file=..., clock=...)`` gives the :class:`Services` of one ledger: the
application (commands in, events out), the rule set, the projections and the read model over
them, the access policy, and — made on first use — the token store, the identity vault and the
checkpoints. The command line, the HTTP API and its web pages, the demo, the test kit and the
benchmarks all start here, so they cannot wire the ledger differently.

Commands go through :meth:`Services.execute`: the policy first, then the ledger, which decides a
lost race against another process again on the new state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from ledger.access import MIGRATORS, Access, Viewer, require_role
from ledger.application import Ledger, china_now
from ledger.domain.case import business_day
from ledger.errors import LedgerError
from ledger.projections.queries import ReadModel
from ledger.projections.runner import Projector
from ledger.rules import RuleSet
from ledger.sessions import SessionStore
from ledger.tokens import TokenStore
from ledger.vault import Vault
from schemas.commands import Command
from schemas.common import Actor
from schemas.views import CommandResult

Clock = Callable[[], datetime]


class Services:
    """Everything one process needs of one ledger; close it when done."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.url = ledger.url
        self.rules = ledger.rules
        self.clock: Clock = ledger.clock
        self.projector = Projector.of(ledger)
        self.read = ReadModel(self.projector)
        self.access = Access(self.read)
        self.write_lock = threading.Lock()
        """Writes of one process, one at a time: SQLite has one writer anyway, and case numbering
        stays race-free within a process on PostgreSQL (races between processes are retried)."""
        self._lazy_lock = threading.Lock()
        self._tokens: TokenStore | None = None
        self._sessions: SessionStore | None = None
        self._vault: Vault | None = None

    def today(self) -> date:
        return business_day(self.clock())

    # ── made on first use ────────────────────────────────────────────────────

    @property
    def tokens(self) -> TokenStore:
        with self._lazy_lock:
            if self._tokens is None:
                self._tokens = TokenStore(self.url)
            return self._tokens

    @property
    def sessions(self) -> SessionStore:
        """Web sign-in sessions, each bound to the token it was opened with."""
        with self._lazy_lock:
            if self._sessions is None:
                self._sessions = SessionStore(self.url)
            return self._sessions

    @property
    def vault(self) -> Vault:
        with self._lazy_lock:
            if self._vault is None:
                self._vault = Vault.open(self.url)
            return self._vault

    def close(self) -> None:
        for part in (self._tokens, self._sessions, self._vault):
            if part is not None:
                part.close()
        self.projector.close()
        self.ledger.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ── commands ─────────────────────────────────────────────────────────────

    def viewer(self, actor: Actor) -> Viewer:
        return self.access.viewer(actor)

    def execute(self, command: Command, actor: Actor) -> CommandResult:
        """Ask the policy, then execute (a lost race is decided again by the ledger, never reported)."""
        self.access.require_command(self.viewer(actor), command)
        return self.record(command, actor)

    def record(self, command: Command, actor: Actor) -> CommandResult:
        """Execute a command the policy has already allowed (or that the server itself writes)."""
        with self.write_lock:
            return self.ledger.execute(command, actor)

    def execute_many(self, commands: Iterable[Command], actor: Actor, *, batch: str, migration: str | None = None
                     ) -> Iterator[CommandResult | LedgerError]:
        """Every command asked of the policy, then decided in chunks; one outcome per command, in order.

        ``migration``: the declared migration the lines belong to (only its declarers' roles may say so).
        """
        if migration is not None:
            require_role(actor, MIGRATORS, "迁移导入")
        viewer = self.viewer(actor)

        def authorise(command: Command, created: frozenset[str]) -> None:
            self.access.require_command(viewer, command, created=created)

        with self.write_lock:
            yield from self.ledger.execute_many(commands, actor, batch=batch, migration=migration, authorise=authorise)


def bootstrap(url: str | None = None, *, rules: RuleSet | None = None, rules_file: str | Path | None = None,
              clock: Clock | None = None) -> Services:
    """The services of the ledger at ``url`` (else ``$XINFANG_DATABASE_URL``, else the default file),
    under the rules of ``rules`` or ``rules_file`` (else ``$XINFANG_RULES``, else the installed defaults)."""
    ruleset = rules if rules is not None else RuleSet.from_config(rules_file)
    return Services(Ledger(url, rules=ruleset, clock=clock or china_now))
